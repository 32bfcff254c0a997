extension StartFailure {
    /// The failure as a metric label: one of a small fixed set, whatever text (a pod's reason, an error message)
    /// the failure carries. Kubernetes' reasons map as `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`,
    /// `ErrImageNeverPull`, `ImageInspectError` → `image_pull`; `Unschedulable` → `unschedulable`;
    /// `CreateContainerConfigError`, `CreateContainerError` → `container_config`; `OOMKilled` → `oom_killed`;
    /// `Evicted` → `evicted`; `CrashLoopBackOff`, `RunContainerError`, `Error`, `Completed` → `container_failed`;
    /// anything else → `pod_failed`. A pod's failure text starts with Kubernetes' reason (`ErrImagePull: …`); a
    /// kernel container that ended with a known reason (`OOMKilled: …`) counts under that reason too.
    public var metricReason: String {
        switch self {
        case .provisioner: return "provisioner"
        case .ended(.lost(let text)):
            let label = Self.podReasonLabel(text)
            return label == "pod_failed" ? "process_exited" : label
        case .ended: return "process_exited"
        case .timedOut, .podTimedOut: return "timeout"
        case .podFailed(_, let reason): return Self.podReasonLabel(reason)
        case .unreachable: return "unreachable"
        case .stoppedWhileStarting: return "stopped"
        case .cancelled: return "cancelled"
        }
    }

    /// Every value ``metricReason`` (and ``GatewayError/startFailureReason``) can take.
    public static let metricReasons: [String] = [
        "provisioner", "process_exited", "timeout", "image_pull", "unschedulable", "container_config", "oom_killed", "evicted",
        "container_failed", "pod_failed", "unreachable", "stopped", "cancelled", "refused",
    ]

    /// The label of a pod failure's text, by the Kubernetes reason it starts with (before the first `:`).
    static func podReasonLabel(_ text: String) -> String {
        switch text.prefix(while: { $0 != ":" }) {
        case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "ImageInspectError": return "image_pull"
        case "Unschedulable": return "unschedulable"
        case "CreateContainerConfigError", "CreateContainerError": return "container_config"
        case "OOMKilled": return "oom_killed"
        case "Evicted": return "evicted"
        case "CrashLoopBackOff", "RunContainerError", "Error", "Completed", "ContainerCannotRun": return "container_failed"
        default: return "pod_failed"
        }
    }
}

extension GatewayError {
    /// Why a start failed, as a metric label: the launch failure's ``StartFailure/metricReason``, else `refused`
    /// (the provisioner refused the request: an image or a quantity not allowed, a limit).
    public var startFailureReason: String {
        if case .launchFailed(let failure) = self { return failure.metricReason }
        return "refused"
    }
}
