@testable import JupyterController
import KubernetesAPI
import Testing

@Suite struct EventRoutingTests {
    @Test func childrenMapToTheirController() {
        var deployment = KubeObject(.deployments, name: "gw", namespace: "ns")
        deployment.ownerReferences = [OwnerReference(
            apiVersion: JupyterResources.apiVersion, kind: "JupyterGateway", name: "gw", uid: "u", controller: true)]
        let owner = EventRouting.owner(of: deployment)
        #expect(owner?.kind == "JupyterGateway")
        #expect(owner?.key == ObjectKey(namespace: "ns", name: "gw"))
        deployment.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "v", controller: true)]
        #expect(EventRouting.owner(of: deployment) == nil)
    }

    @Test func notebooksAreFoundByTheirGatewayReference() {
        let same = Fixtures.object("JupyterNotebook", name: "a", namespace: "team", spec: ["gateway": ["name": "gw"]])
        let explicit = Fixtures.object("JupyterNotebook", name: "b", namespace: "other", spec: ["gateway": ["name": "gw", "namespace": "team"]])
        let elsewhere = Fixtures.object("JupyterNotebook", name: "c", namespace: "other", spec: ["gateway": ["name": "gw"]])
        let keys = EventRouting.notebooks(referencing: ObjectKey(namespace: "team", name: "gw"), in: [same, explicit, elsewhere])
        #expect(keys == [ObjectKey(namespace: "team", name: "a"), ObjectKey(namespace: "other", name: "b")])
    }

    @Test func kernelPodsMapToGatewayAndNotebook() {
        var pod = KubeObject(.pods, name: "k", namespace: "team")
        pod.labels = ["elastic-jupyter.io/gateway": "gw", "elastic-jupyter.io/notebook": "a", "app.kubernetes.io/component": "kernel"]
        let notebook = Fixtures.object("JupyterNotebook", name: "a", namespace: "team", spec: ["gateway": ["name": "gw"]])
        let owners = EventRouting.owners(ofKernelPod: pod, notebooks: [notebook])
        #expect(owners.gateway == ObjectKey(namespace: "team", name: "gw"))
        #expect(owners.notebooks == [ObjectKey(namespace: "team", name: "a")])
    }

    @Test func templatesMapToGatewaysOfReferencingKernelSpecs() {
        let kernelSpec = Fixtures.object("JupyterKernelSpec", name: "k", namespace: "team", spec: ["template": ["name": "t"]])
        let gateway = Fixtures.object("JupyterGateway", name: "gw", namespace: "team", spec: [:])
        let unrelated = Fixtures.object("JupyterGateway", name: "gw2", namespace: "x", spec: [:])
        #expect(EventRouting.gateways(forTemplate: ObjectKey(namespace: "team", name: "t"), kernelSpecs: [kernelSpec], gateways: [gateway, unrelated])
            == [ObjectKey(namespace: "team", name: "gw")])
    }
}

@Suite struct SupportTests {
    @Test func labelValuesAreValid() {
        #expect(ControllerLabels.labelValue("alice@example.com") == "alice-example.com")
        #expect(ControllerLabels.labelValue("-x-") == "x")
        #expect(ControllerLabels.labelValue(String(repeating: "a", count: 80)).count == 63)
        #expect(ControllerLabels.kernelPodSelector(gateway: "gw", notebook: "nb")
            == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=gw,elastic-jupyter.io/notebook=nb")
    }

    @Test func invalidSpecsAreTypedErrors() {
        let object = Fixtures.object("JupyterGateway", name: "bad", spec: ["cullIdleTimeout": "soon"])
        #expect(throws: ControllerError.self) { try JupyterGateway(object) }
        #expect(ControllerError.isInvalidSpec(ControllerError.invalidSpec("x")))
    }

    @Test func tokensAreLongRandomHex() {
        let a = TokenSource.generate()
        #expect(a.count == 64)
        #expect(a.allSatisfy { $0.isHexDigit })
        #expect(a != TokenSource.generate())
    }

    @Test func finalizerPatchesAreGuardedByResourceVersion() {
        #expect(Finalizers.patch(["f"], resourceVersion: "9") == ["metadata": ["finalizers": ["f"], "resourceVersion": "9"]])
        #expect(Finalizers.patch([], resourceVersion: nil) == ["metadata": ["finalizers": nil]])
    }

    @Test func metricsRenderInPrometheusFormat() {
        let metrics = ControllerMetrics()
        metrics.countReconcile(controller: "jupytergateway", result: "success", seconds: 0.5)
        metrics.countWrite(kind: "Deployment", verb: "update")
        metrics.set("elastic_jupyter_controller_leader", 1)
        let text = metrics.render()
        #expect(text.contains("# TYPE elastic_jupyter_controller_reconciles_total counter"))
        #expect(text.contains("elastic_jupyter_controller_reconciles_total{controller=\"jupytergateway\",result=\"success\"} 1"))
        #expect(text.contains("elastic_jupyter_controller_writes_total{kind=\"Deployment\",verb=\"update\"} 1"))
        #expect(text.contains("elastic_jupyter_controller_leader 1"))
    }

    @Test func eventsDescribeTheirObject() {
        let gateway = Fixtures.object("JupyterGateway", name: "gw", spec: [:])
        let event = EventRecorder.event(for: gateway, namespace: "default", type: .warning, reason: "KernelSpecNotFound", message: "m", instance: "a")
        #expect(event.name.hasPrefix("gw."))
        #expect(event["involvedObject"]?["uid"] == "uid-gw")
        #expect(event["type"] == "Warning")
        #expect(event["source"]?["component"] == "elastic-jupyter-controller")
    }

    @Test func healthReportsStandbysAsReady() {
        let health = HealthState(electing: true)
        #expect(health.isReady)
        health.setLeading(true)
        #expect(!health.isReady)
        health.setSynced(true)
        #expect(health.isReady)
    }
}
