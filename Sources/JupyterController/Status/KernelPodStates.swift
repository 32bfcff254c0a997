import KubernetesAPI

/// A gateway's kernel pods by state (`status.kernelStates`). Pure.
public struct KernelPodStates: Sendable, Hashable {
    /// Not yet running: unscheduled, pulling, starting (phase `Pending`).
    public var pending = 0
    /// Running (phase `Running`).
    public var running = 0
    /// Being deleted (culled, shut down, or their gateway or notebook going).
    public var terminating = 0
    /// Stopped and not yet removed (phase `Succeeded`, `Failed` or unknown).
    public var ended = 0

    /// Creates counts.
    public init(pending: Int = 0, running: Int = 0, terminating: Int = 0, ended: Int = 0) {
        self.pending = pending
        self.running = running
        self.terminating = terminating
        self.ended = ended
    }

    /// Counts the pods of `namespace` carrying every label of `labels`.
    /// - Parameters:
    ///   - pods: Cached kernel pods.
    ///   - namespace: The gateway's namespace.
    ///   - labels: Labels selecting the gateway's kernel pods.
    public init(pods: [KubeObject], namespace: String, labels: [String: String]) {
        for pod in pods where pod.namespace == namespace && labels.allSatisfy({ pod.labels[$0.key] == $0.value }) {
            if pod.metadata.isBeingDeleted {
                terminating += 1
                continue
            }
            switch pod[path: "status", "phase"]?.stringValue ?? "Pending" {
            case "Pending": pending += 1
            case "Running": running += 1
            default: ended += 1
            }
        }
    }

    /// `status.kernelStates`.
    public var json: KubeJSON {
        [
            "pending": .int(Int64(pending)), "running": .int(Int64(running)),
            "terminating": .int(Int64(terminating)), "ended": .int(Int64(ended)),
        ]
    }
}
