@testable import JupyterController
import KubernetesAPI
import Testing

@Suite struct JSONSubsetTests {
    @Test func serverDefaultsAreIgnored() {
        let desired: KubeJSON = ["ports": [["name": "http", "port": 8888]], "type": "ClusterIP"]
        let actual: KubeJSON = ["ports": [["name": "http", "port": 8888, "protocol": "TCP"]], "type": "ClusterIP", "clusterIP": "10.0.0.1"]
        #expect(JSONSubset.contains(actual, desired))
    }

    @Test func changesAndRemovalsInArraysAreSeen() {
        #expect(!JSONSubset.contains(["env": [["name": "A"]]], ["env": [["name": "A"], ["name": "B"]]]))
        #expect(!JSONSubset.contains(["env": [["name": "A"], ["name": "B"]]], ["env": [["name": "A"]]]))
        #expect(!JSONSubset.contains(["replicas": 1], ["replicas": 2]))
    }

    @Test func quantitiesCompareByValue() {
        #expect(JSONSubset.contains(["cpu": "500m"], ["cpu": "0.5"]))
        #expect(JSONSubset.contains(["memory": "1Gi"], ["memory": "1024Mi"]))
        #expect(JSONSubset.contains(["gpu": "1"], ["gpu": 1]))
        #expect(!JSONSubset.contains(["cpu": "1"], ["cpu": "2"]))
        #expect(Quantity.value("8Gi") == Double(8 << 30))
        #expect(Quantity.value("http") == nil)
    }
}

@Suite struct ChildApplierTests {
    func stamped(_ object: KubeObject) -> KubeObject {
        // Same stamping as the applier: apply the desired object once to an empty live object.
        var live = object
        live.annotations[ControllerLabels.appliedHashAnnotation] = CanonicalJSON.hash(object.json)
        if !object.annotations.isEmpty { live.annotations["elastic-jupyter.io/managed-annotations"] = object.annotations.keys.sorted().joined(separator: ",") }
        return live
    }

    func service(annotations: [String: String] = [:]) -> KubeObject {
        var object = KubeObject(.services, name: "svc", namespace: "default")
        object.labels = ["app": "x"]
        object.annotations = annotations
        object.ownerReferences = [OwnerReference(apiVersion: "v", kind: "K", name: "o", uid: "u", controller: true, blockOwnerDeletion: true)]
        object.spec = ["ports": [["name": "http", "port": 8888]], "selector": ["a": "b"]]
        return object
    }

    @Test func aSettledObjectNeedsNoUpdate() {
        let desired = service()
        var live = stamped(desired)
        live.spec?["clusterIP"] = "10.1.1.1"
        live.metadata.resourceVersion = "5"
        let decision = ChildApplier.needsUpdate(live, ChildApplier.stamped(desired), policy: .replace, ownerUID: "u")
        #expect(decision == false)
    }

    @Test func driftAndNewRenderingsNeedAnUpdate() {
        let desired = service()
        var drifted = stamped(desired)
        drifted.spec?["selector"] = ["a": "changed"]
        #expect(ChildApplier.needsUpdate(drifted, ChildApplier.stamped(desired), policy: .replace, ownerUID: "u"))
        var changed = desired
        changed.spec?["ports"] = [["name": "http", "port": 9999]]
        #expect(ChildApplier.needsUpdate(stamped(desired), ChildApplier.stamped(changed), policy: .replace, ownerUID: "u"))
    }

    @Test func mergeKeepsServerFieldsAndDropsRemovedAnnotations() {
        var live = stamped(service(annotations: ["old": "1", "keep": "2"]))
        live.annotations["someone-else"] = "3"
        live.spec?["clusterIP"] = "10.1.1.1"
        live.spec?["ports"] = [["name": "http", "port": 8888, "nodePort": 30001]]
        let desired = ChildApplier.stamped(service(annotations: ["keep": "2"]))
        let merged = ChildApplier.merged(live, desired, policy: .replace, ownerUID: "u")
        #expect(merged.annotations["old"] == nil)
        #expect(merged.annotations["keep"] == "2")
        #expect(merged.annotations["someone-else"] == "3")
        #expect(merged.spec?["clusterIP"] == "10.1.1.1")
        #expect(merged.spec?["ports"]?[0]?["nodePort"] == 30001)
        #expect(merged.ownerReferences.count == 1)
    }

    @Test func anUnownedChildLosesOurReference() {
        var desired = service()
        desired.ownerReferences = []
        let live = stamped(service())
        #expect(ChildApplier.needsUpdate(live, ChildApplier.stamped(desired), policy: .replace, ownerUID: "u"))
        #expect(ChildApplier.merged(live, ChildApplier.stamped(desired), policy: .replace, ownerUID: "u").ownerReferences.isEmpty)
    }
}

@Suite struct StatusTests {
    @Test func transitionTimesAreKeptWhileTheStatusHolds() {
        let old = [Condition(type: "Ready", status: true, reason: "A", message: "m", observedGeneration: 1, lastTransitionTime: "2020-01-01T00:00:00Z")]
        let same = [Condition(type: "Ready", status: true, reason: "A", message: "m2", observedGeneration: 2)]
        #expect(same.keepingTransitionTimes(from: old)[0].lastTransitionTime == "2020-01-01T00:00:00Z")
        let flipped = [Condition(type: "Ready", status: false, reason: "B", message: "m", observedGeneration: 2)]
        #expect(flipped.keepingTransitionTimes(from: old)[0].lastTransitionTime != "2020-01-01T00:00:00Z")
    }

    @Test func gatewayPhasesFollowItsDeployment() throws {
        let gateway = try Fixtures.gateway()
        func phase(_ workload: WorkloadState, error: (any Error)? = nil) -> String? {
            GatewayStatusBuilder(gateway: gateway, rendering: nil, workload: workload, kernels: 2, error: error)
                .build(previous: nil)["phase"]?.stringValue
        }
        #expect(phase(WorkloadState(deployment: nil)) == "Pending")
        #expect(phase(WorkloadState(desired: 1, ready: 0, updated: 0, observed: true, failure: nil, exists: true)) == "Provisioning")
        #expect(phase(WorkloadState(desired: 1, ready: 1, updated: 1, observed: true, failure: nil, exists: true)) == "Running")
        #expect(phase(WorkloadState(desired: 1, ready: 1, updated: 1, observed: false, failure: nil, exists: true)) == "Provisioning")
        #expect(phase(WorkloadState(desired: 1, ready: 0, updated: 0, observed: true, failure: "deadline", exists: true)) == "Failed")
        #expect(phase(WorkloadState(deployment: nil), error: ControllerError.invalidSpec("x")) == "Failed")
        let status = GatewayStatusBuilder(
            gateway: gateway, rendering: nil, workload: WorkloadState(desired: 1, ready: 1, updated: 1, observed: true, failure: nil, exists: true),
            kernels: 2, error: nil
        ).build(previous: nil)
        #expect(status["kernels"] == 2)
        #expect(status["observedGeneration"] == 1)
        #expect(status["url"] == "http://jupytergateway-sample.default:8888")
        let conditions = Condition.list(from: status)
        #expect(conditions.map(\.type) == ["Ready", "Progressing", "Degraded"])
        #expect(conditions[type: "Ready"]?.isTrue == true)
    }

    @Test func aMissingGatewayKeepsTheNotebookPending() throws {
        let check = GatewayCheck(usable: false, ready: false, reason: "GatewayNotFound", message: "JupyterGateway default/x not found")
        let status = NotebookStatusBuilder(
            notebook: try Fixtures.notebook(), rendering: nil, gateway: check, gatewayURL: nil, workload: WorkloadState(deployment: nil),
            kernels: 0, error: nil
        ).build(previous: nil)
        #expect(status["phase"] == "Pending")
        let conditions = Condition.list(from: status)
        #expect(conditions[type: "GatewayReady"]?.reason == "GatewayNotFound")
        #expect(conditions[type: "Ready"]?.reason == "GatewayNotFound")
    }

    @Test func workloadStateReadsDeploymentStatus() {
        var deployment = KubeObject(.deployments, name: "d", namespace: "n")
        deployment.metadata.generation = 3
        deployment.spec = ["replicas": 2]
        deployment.status = ["observedGeneration": 3, "readyReplicas": 2, "updatedReplicas": 2]
        #expect(WorkloadState(deployment: deployment).isAvailable)
        deployment.status?["conditions"] = [["type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "stuck"]]
        #expect(WorkloadState(deployment: deployment).failure == "stuck")
    }

    @Test func statusPatchesNullRemovedMembers() {
        let patch = StatusWriter.patch(from: ["url": "a", "pvcName": "p"], to: ["url": "b"])
        #expect(patch == ["status": ["url": "b", "pvcName": nil]])
    }
}
