import JupyterController
import KubernetesAPI
import Testing

/// Replicas, rolling updates and the PodDisruptionBudget, with the replica limit as shipped and raised
/// (``RenderSettings/maximumGatewayReplicas`` is 10; tests also render lower limits).
@Suite struct GatewayReplicaTests {
    func render(replicas: Int?, limit: Int = RenderSettings.maximumGatewayReplicas) throws -> GatewayRendering {
        var spec = Fixtures.seedGatewaySpec
        if let replicas { spec["replicas"] = .int(Int64(replicas)) }
        let settings = RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "k:1", gatewayReplicaLimit: limit)
        return GatewayRenderer(GatewayRenderInput(gateway: try Fixtures.gateway("gw", spec: spec), authToken: "t", settings: settings))
            .render()
    }

    func budget(_ rendering: GatewayRendering) -> KubeObject? {
        rendering.children.child("PodDisruptionBudget", "gw")
    }

    func budgetIsAbsent(_ rendering: GatewayRendering) -> Bool {
        rendering.absent.contains { $0.resource.kind == "PodDisruptionBudget" && $0.name == "gw" && $0.namespace == "default" }
    }

    @Test func shippedLimitIsTenReplicas() {
        #expect(RenderSettings.maximumGatewayReplicas == 10)
        #expect(RenderSettings().gatewayReplicaLimit == RenderSettings.maximumGatewayReplicas)
    }

    @Test func effectiveReplicasAreClampedToTheLimit() {
        #expect(GatewayRenderer.effectiveReplicas(requested: nil, limit: 1) == 1)
        #expect(GatewayRenderer.effectiveReplicas(requested: 3, limit: 1) == 1)
        #expect(GatewayRenderer.effectiveReplicas(requested: 3, limit: 5) == 3)
        #expect(GatewayRenderer.effectiveReplicas(requested: 9, limit: 5) == 5)
        #expect(GatewayRenderer.effectiveReplicas(requested: 0, limit: 5) == 0)
        #expect(GatewayRenderer.effectiveReplicas(requested: -2, limit: 5) == 0)
    }

    @Test func aNewReplicaIsReadyBeforeAnOldOneStops() throws {
        let deployment = try #require(try render(replicas: nil).children.child("Deployment", "gw"))
        #expect(deployment[path: "spec", "strategy"] == [
            "type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 0, "maxSurge": 1],
        ])
        let grace = try #require(deployment[path: "spec", "template", "spec", "terminationGracePeriodSeconds"]?.intValue)
        #expect(grace >= 30, "covers the gateway's bounded drain")
        #expect(grace == Int(GatewayRenderer.terminationGracePeriod))
    }

    @Test func withTheShippedLimitTwoReplicasRunWithABudgetAndMoreAreClamped() throws {
        let two = try render(replicas: 2)
        #expect(two.replicas == 2)
        #expect(two.children.child("Deployment", "gw")?[path: "spec", "replicas"] == 2)
        #expect(budget(two) != nil)
        let many = try render(replicas: 50)
        #expect(many.replicas == RenderSettings.maximumGatewayReplicas)
        #expect(many.children.child("Deployment", "gw")?[path: "spec", "replicas"] == 10)
        let one = try render(replicas: 2, limit: 1)
        #expect(one.replicas == 1)
        #expect(budget(one) == nil)
        #expect(budgetIsAbsent(one), "a budget left from more replicas is deleted")
    }

    @Test func twoEffectiveReplicasGetABudgetOverTheGatewayPods() throws {
        let rendering = try render(replicas: 2, limit: 4)
        #expect(rendering.replicas == 2)
        let deployment = try #require(rendering.children.child("Deployment", "gw"))
        #expect(deployment[path: "spec", "replicas"] == 2)
        let pdb = try #require(budget(rendering))
        #expect(pdb.apiVersion == "policy/v1")
        #expect(pdb.namespace == "default")
        #expect(pdb[path: "spec", "maxUnavailable"] == 1)
        #expect(pdb[path: "spec", "minAvailable"] == nil)
        #expect(pdb[path: "spec", "unhealthyPodEvictionPolicy"] == "AlwaysAllow")
        // Exactly the Deployment's pods: the same selector, matching the pod template's labels, never kernels.
        let selector = try #require(pdb[path: "spec", "selector", "matchLabels"]?.stringMapValue)
        #expect(pdb[path: "spec", "selector", "matchLabels"] == deployment[path: "spec", "selector", "matchLabels"])
        let podLabels = try #require(deployment[path: "spec", "template", "metadata", "labels"]?.stringMapValue)
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value })
        #expect(selector["app.kubernetes.io/component"] == "gateway")
        // Owned by the gateway (garbage-collected with it), managed like every child.
        #expect(pdb.ownerReferences.count == 1)
        #expect(pdb.ownerReferences.first?.controller == true)
        #expect(pdb.ownerReferences.first?.uid == "uid-gw")
        #expect(pdb.labels["app.kubernetes.io/managed-by"] == "elastic-jupyter-controller")
        #expect(!budgetIsAbsent(rendering))
    }

    @Test func theBudgetFollowsTheEffectiveCount() throws {
        #expect(budget(try render(replicas: 3, limit: 4)) != nil)
        #expect(budget(try render(replicas: 9, limit: 2)) != nil, "clamped to 2: still two replicas")
        for (replicas, limit) in [(1, 4), (0, 4), (nil, 4), (5, 1)] {
            let rendering = try render(replicas: replicas, limit: limit)
            #expect(budget(rendering) == nil, "replicas \(String(describing: replicas)), limit \(limit)")
            #expect(budgetIsAbsent(rendering), "replicas \(String(describing: replicas)), limit \(limit)")
        }
    }

    @Test func scalingBackToOneReplicaRemovesTheBudget() throws {
        // The reconciler applies `children` and removes `absent`: from 2 to 1 the budget moves from one to the other.
        let two = try render(replicas: 2, limit: 2)
        let one = try render(replicas: 1, limit: 2)
        #expect(budget(two) != nil && !budgetIsAbsent(two))
        #expect(budget(one) == nil && budgetIsAbsent(one))
    }

    @Test func clampingIsReportedAgainstTheLimit() throws {
        let gateway = try Fixtures.gateway("gw", spec: ["replicas": 3])
        func clamped(limit: Int) -> KubeJSON? {
            let status = GatewayStatusBuilder(
                gateway: gateway, rendering: nil, workload: WorkloadState(deployment: nil), kernels: 0, error: nil, replicaLimit: limit
            ).build(previous: nil)
            return status["conditions"]?.arrayValue?.first { $0["type"] == "ReplicasClamped" }
        }
        let condition = try #require(clamped(limit: 1))
        #expect(condition["status"] == "True")
        #expect(condition["message"]?.stringValue?.hasPrefix("spec.replicas 3 clamped to 1") == true)
        #expect(clamped(limit: 2)?["message"]?.stringValue?.hasPrefix("spec.replicas 3 clamped to 2") == true)
        #expect(clamped(limit: 3) == nil)
    }
}
