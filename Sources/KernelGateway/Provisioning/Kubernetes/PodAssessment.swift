import KubernetesAPI

/// What a kernel pod's status says, as far as launching a kernel is concerned. Pure.
public enum PodAssessment: Sendable, Equatable {
    /// Not there yet (scheduling, pulling, starting); the text says what it waits for.
    case pending(String)
    /// Running with an IP: the gateway can connect.
    case running(ip: String)
    /// Failed for good: the start must fail with Kubernetes' reason and message.
    case failed(reason: String, message: String)

    /// Container waiting reasons that will not resolve by themselves.
    static let fatalWaitingReasons: Set<String> = [
        "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CrashLoopBackOff",
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "ImageInspectError",
    ]

    /// Assesses a pod. `scaleUpTriggered`: the cluster autoscaler reported `TriggeredScaleUp` for it, so
    /// an unschedulable pod waits (up to the launch timeout) instead of failing.
    public static func assess(_ pod: KubeObject, scaleUpTriggered: Bool) -> PodAssessment {
        let status = pod.status?.objectValue ?? [:]
        let phase = status["phase"]?.stringValue ?? "Pending"
        let statuses = (status["containerStatuses"]?.arrayValue ?? []) + (status["initContainerStatuses"]?.arrayValue ?? [])
        for container in statuses {
            if let waiting = container["state"]?["waiting"], let reason = waiting["reason"]?.stringValue,
               fatalWaitingReasons.contains(reason) {
                return .failed(reason: reason, message: waiting["message"]?.stringValue ?? reason)
            }
            if let terminated = container["state"]?["terminated"] {
                let reason = terminated["reason"]?.stringValue ?? "Terminated"
                let code = terminated["exitCode"]?.intValue.map { " (exit code \($0))" } ?? ""
                return .failed(reason: reason, message: (terminated["message"]?.stringValue ?? "The kernel container terminated") + code)
            }
        }
        if phase == "Failed" || phase == "Succeeded" {
            return .failed(reason: status["reason"]?.stringValue ?? phase,
                           message: status["message"]?.stringValue ?? "The kernel pod \(phase == "Failed" ? "failed" : "exited")")
        }
        for condition in status["conditions"]?.arrayValue ?? [] where condition["type"]?.stringValue == "PodScheduled" {
            if condition["status"]?.stringValue == "False", condition["reason"]?.stringValue == "Unschedulable" {
                let message = condition["message"]?.stringValue ?? "No node can run the kernel pod"
                if scaleUpTriggered { return .pending("waiting for the cluster to scale up: \(message)") }
                return .failed(reason: "Unschedulable", message: message)
            }
        }
        if phase == "Running", let ip = status["podIP"]?.stringValue, !ip.isEmpty {
            return .running(ip: ip)
        }
        if let waiting = statuses.first?["state"]?["waiting"]?["reason"]?.stringValue { return .pending(waiting) }
        return .pending(phase)
    }
}
