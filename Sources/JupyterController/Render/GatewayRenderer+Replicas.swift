import KubernetesAPI

extension GatewayRenderer {
    /// `policy/v1` PodDisruptionBudgets.
    static let podDisruptionBudgets = ResourceDescriptor(
        group: "policy", version: "v1", plural: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true)

    /// The replicas a gateway runs: `spec.replicas` (default 1), at least 0 and at most `limit`
    /// (``RenderSettings/gatewayReplicaLimit``).
    /// - Parameters:
    ///   - requested: `spec.replicas`.
    ///   - limit: The most replicas the controller runs.
    /// - Returns: The effective replica count.
    public static func effectiveReplicas(requested: Int?, limit: Int) -> Int {
        min(limit, max(0, requested ?? 1))
    }

    /// The effective replica count of this gateway.
    var replicas: Int {
        Self.effectiveReplicas(requested: input.gateway.spec.replicas, limit: input.settings.gatewayReplicaLimit)
    }

    /// With two or more effective replicas, a PodDisruptionBudget letting voluntary disruptions (node drains,
    /// evictions) take at most one gateway pod at a time; with fewer, none (at `maxUnavailable: 1` it would
    /// protect nothing), and one left from more replicas is deleted.
    func disruptionBudget() -> (desired: DesiredChild?, absent: AbsentChild?) {
        guard replicas >= 2 else {
            return (nil, AbsentChild(Self.podDisruptionBudgets, namespace: input.gateway.namespace, name: names.workload))
        }
        var object = factory.make(Self.podDisruptionBudgets, name: names.workload)
        object.spec = [
            "maxUnavailable": 1,
            "selector": ["matchLabels": KubeJSON(podSelector)],
            // A replica that is not ready (crash loop, bad roll) may always be evicted: it serves nothing, and
            // counting it would block node drains.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        ]
        return (DesiredChild(Self.podDisruptionBudgets, object), nil)
    }
}
