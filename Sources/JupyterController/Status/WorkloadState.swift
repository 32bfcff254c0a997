import KubernetesAPI

/// What a Deployment's status says about its rollout.
public struct WorkloadState: Sendable, Hashable {
    /// Desired replicas.
    public var desired: Int
    /// Ready replicas.
    public var ready: Int
    /// Replicas running the latest template.
    public var updated: Int
    /// Whether the Deployment controller has seen the latest spec.
    public var observed: Bool
    /// A failure the Deployment reports (progress deadline exceeded, replica failure), if any.
    public var failure: String?
    /// Whether the Deployment exists.
    public var exists: Bool

    /// The state of a Deployment (`nil`: it does not exist yet).
    /// - Parameter deployment: The Deployment as stored.
    public init(deployment: KubeObject?) {
        guard let deployment else {
            self.init(desired: 0, ready: 0, updated: 0, observed: false, failure: nil, exists: false)
            return
        }
        let status = deployment.status ?? .emptyObject
        let desired = deployment[path: "spec", "replicas"]?.intValue ?? 1
        let generation = deployment.metadata.generation ?? 0
        let observedGeneration = Int64(status["observedGeneration"]?.intValue ?? -1)
        var failure: String?
        for condition in status["conditions"]?.arrayValue ?? [] {
            let type = condition["type"]?.stringValue
            let value = condition["status"]?.stringValue
            if type == "Progressing", value == "False" || condition["reason"]?.stringValue == "ProgressDeadlineExceeded" {
                failure = condition["message"]?.stringValue ?? "progress deadline exceeded"
            } else if type == "ReplicaFailure", value == "True" {
                failure = condition["message"]?.stringValue ?? "replica failure"
            }
        }
        self.init(
            desired: desired, ready: status["readyReplicas"]?.intValue ?? 0, updated: status["updatedReplicas"]?.intValue ?? 0,
            observed: observedGeneration >= generation, failure: failure, exists: true)
    }

    /// Creates a state.
    public init(desired: Int, ready: Int, updated: Int, observed: Bool, failure: String?, exists: Bool) {
        self.desired = desired
        self.ready = ready
        self.updated = updated
        self.observed = observed
        self.failure = failure
        self.exists = exists
    }

    /// Whether the latest template runs with every replica ready.
    public var isAvailable: Bool {
        exists && observed && desired > 0 && ready >= desired && updated >= desired
    }
}
