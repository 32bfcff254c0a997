import Foundation
import JupyterController
import KubernetesAPI
import Testing

@Suite struct NotebookRendererTests {
    func render(
        _ notebook: JupyterNotebook, gateway: GatewayConnection? = Fixtures.connection, token: String? = "lab-token",
        gatewayToken: String? = "own-gateway-token"
    ) -> NotebookRendering {
        NotebookRenderer(NotebookRenderInput(
            notebook: notebook, gateway: gateway, notebookToken: token, gatewayToken: gateway == nil ? nil : gatewayToken,
            settings: RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "k:1"))).render()
    }

    @Test func seedSampleIsWiredToItsGatewayThroughSecrets() throws {
        let rendering = render(try Fixtures.notebook())
        #expect(Set(rendering.children.map { "\($0.resource.kind)/\($0.object.name)" }) == [
            "Secret/jupyternotebook-sample-jupyter", "Secret/jupyternotebook-sample-gateway-token",
            "PersistentVolumeClaim/jupyternotebook-sample-work",
            "Deployment/jupyternotebook-sample", "Service/jupyternotebook-sample",
            "ConfigMap/jupyternotebook-sample-gateway-client",
        ])
        #expect(rendering.pvcName == "jupyternotebook-sample-work")
        #expect(rendering.url == "http://jupyternotebook-sample.default:8888")
        let deployment = try #require(rendering.children.child("Deployment", "jupyternotebook-sample"))
        let env = deployment.containerEnv
        #expect(env["JUPYTER_GATEWAY_URL"]?["value"] == "http://jupytergateway-sample.default:8888")
        #expect(env["JUPYTER_GATEWAY_AUTH_TOKEN"]?[path: "valueFrom", "secretKeyRef"] == [
            "name": "jupyternotebook-sample-gateway-token", "key": "token",
        ])
        #expect(env["JUPYTER_TOKEN"]?[path: "valueFrom", "secretKeyRef", "key"] == "token")
        #expect(env["JUPYTER_GATEWAY_REQUEST_TIMEOUT"]?["value"] == "62.0")
        #expect(env["KERNEL_LAUNCH_TIMEOUT"]?["value"] == "60")
        #expect(env["JUPYTER_GATEWAY_CONNECT_TIMEOUT"]?["value"] == "10.0")
        #expect(env["JUPYTER_GATEWAY_RETRY_INTERVAL"]?["value"] == "1.0")
        #expect(env["JUPYTER_GATEWAY_RETRY_INTERVAL_MAX"]?["value"] == "5.0")
        #expect(env["JUPYTER_GATEWAY_RETRY_MAX"]?["value"] == "20")
        #expect(env["KERNEL_USERNAME"]?["value"] == "default-jupyternotebook-sample", "the default user: <namespace>-<name>")
        #expect(env["JUPYTER_GATEWAY_CA_CERTS"] == nil, "plain HTTP: no CA")
        #expect(env["KERNEL_NOTEBOOK"]?["value"] == "jupyternotebook-sample")
        let container = try #require(deployment[path: "spec", "template", "spec", "containers"]?[0])
        #expect(container["args"] == nil && container["command"] == nil, "the stock start command is kept")
        #expect(container["image"] == "nb:1")
        #expect(!CanonicalJSON.text(deployment.json).contains("lab-token"), "tokens stay in the Secret")
        let secret = try #require(rendering.children.child("Secret", "jupyternotebook-sample-jupyter"))
        #expect(secret.data?["gateway-token"] == nil, "the gateway's shared token is never given to a notebook")
        let own = try #require(rendering.children.child("Secret", "jupyternotebook-sample-gateway-token"))
        #expect(own.data?["token"] == .string(Data("own-gateway-token".utf8).base64EncodedString()))
        #expect(own.ownerReferences.first?.uid == "uid-jupyternotebook-sample")
        #expect(rendering.absent.contains(AbsentChild(.configMaps, namespace: "default", name: "jupyternotebook-sample-gateway-ca")))
        #expect(secret.data?["token"] == .string(Data("lab-token".utf8).base64EncodedString()))
        #expect(deployment[path: "spec", "strategy", "type"] == "Recreate")
    }

    @Test func theClaimIsRetainedUnlessAskedOtherwise() throws {
        let retained = render(try Fixtures.notebook()).children.first { $0.resource.kind == "PersistentVolumeClaim" }
        #expect(retained?.object.ownerReferences == [])
        #expect(retained?.policy == .metadataOnly)
        #expect(retained?.object[path: "spec", "resources", "requests", "storage"] == "10Gi")
        let deleting = render(try Fixtures.notebook("nb", spec: ["storage": ["reclaimPolicy": "Delete", "size": "1Gi", "storageClassName": "fast"]]))
            .children.first { $0.resource.kind == "PersistentVolumeClaim" }
        #expect(deleting?.object.ownerReferences.first?.uid == "uid-nb")
        #expect(deleting?.object[path: "spec", "storageClassName"] == "fast")
    }

    /// The elastic-jupyter Java operator's notebook fields (issue 19 item 3): aliases of ours, ours winning; its
    /// defaults for a notebook that asks for nothing.
    @Test func theJavaOperatorsFieldsAreAliasesAndItsDefaultsApply() throws {
        func container(_ spec: KubeJSON) throws -> KubeJSON {
            let deployment = try #require(render(try Fixtures.notebook("nb", spec: spec)).children.child("Deployment", "nb"))
            return try #require(deployment[path: "spec", "template", "spec", "containers"]?[0])
        }
        func claimSize(_ spec: KubeJSON) throws -> KubeJSON? {
            render(try Fixtures.notebook("nb", spec: spec)).children.child("PersistentVolumeClaim", "nb-work")?[path: "spec", "resources", "requests", "storage"]
        }
        let seed = try container(["cpuRequest": "2", "memoryRequest": "4Gi", "storageSize": "20Gi"])
        #expect(seed[path: "resources", "requests"] == ["cpu": "2", "memory": "4Gi"])
        #expect(seed[path: "resources", "limits", "memory"] == nil, "the Java operator sets a request only")
        #expect(try claimSize(["storageSize": "20Gi"]) == "20Gi")
        let both = try container(["cpuRequest": "2", "cpu": "1", "memoryRequest": "4Gi", "memory": "3Gi"])
        #expect(both[path: "resources", "requests"] == ["cpu": "1", "memory": "3Gi"], "ours win")
        #expect(try claimSize(["storageSize": "20Gi", "storage": ["size": "5Gi"]]) == "5Gi")
        let nothing = try container([:])
        #expect(nothing[path: "resources"] == ["requests": ["cpu": "500m", "memory": "1Gi"]])
        let limitsOnly = try container(["resources": ["limits": ["cpu": "4", "memory": "8Gi"]]])
        #expect(limitsOnly[path: "resources", "requests"] == nil, "Kubernetes takes the requests from the limits")
    }

    @Test func aStoppedNotebookRunsNoJupyterLabButKeepsItsClaim() throws {
        let stopped = render(try Fixtures.notebook("nb", spec: ["gateway": ["name": "g"], "stopped": true]))
        #expect(stopped.children.child("Deployment", "nb")?[path: "spec", "replicas"] == 0)
        #expect(stopped.children.child("PersistentVolumeClaim", "nb-work") != nil, "the user's files stay")
        let started = render(try Fixtures.notebook("nb", spec: ["gateway": ["name": "g"], "stopped": false]))
        #expect(started.children.child("Deployment", "nb")?[path: "spec", "replicas"] == 1)
    }

    @Test func anExistingClaimIsReattachedAndStorageCanBeOff() throws {
        let existing = render(try Fixtures.notebook("nb", spec: ["storage": ["existingClaim": "data", "mountPath": "/data"]]))
        #expect(existing.pvcName == "data")
        #expect(!existing.children.contains { $0.resource.kind == "PersistentVolumeClaim" })
        let deployment = try #require(existing.children.child("Deployment", "nb"))
        #expect(deployment[path: "spec", "template", "spec", "volumes"]?[0]?[path: "persistentVolumeClaim", "claimName"] == "data")
        let off = render(try Fixtures.notebook("nb", spec: ["storage": ["enabled": false]]))
        #expect(off.pvcName == nil)
        #expect(off.children.child("Deployment", "nb")?[path: "spec", "strategy", "type"] == "RollingUpdate")
    }

    @Test func theUsersTemplateIsMergedIn() throws {
        let notebook = try Fixtures.notebook("nb", spec: [
            "gateway": ["name": "g"], "user": "alice", "cpu": "500m", "memory": "1Gi", "image": "lab:2",
            "template": [
                "metadata": ["labels": ["team": "data", "app.kubernetes.io/component": "hijack"], "annotations": ["x": "y"]],
                "spec": [
                    "nodeSelector": ["disk": "ssd"],
                    "containers": [
                        ["name": "sidecar", "image": "busybox"],
                        ["name": "notebook", "env": [["name": "MINE", "value": "1"], ["name": "KERNEL_USERNAME", "value": "mallory"]]],
                    ],
                ],
            ],
        ])
        let deployment = try #require(render(notebook).children.child("Deployment", "nb"))
        let template = try #require(deployment[path: "spec", "template"])
        #expect(template[path: "metadata", "labels", "team"] == "data")
        #expect(template[path: "metadata", "labels", "app.kubernetes.io/component"] == "notebook", "our selector labels win")
        #expect(template[path: "metadata", "annotations", "x"] == "y")
        #expect(template[path: "spec", "nodeSelector", "disk"] == "ssd")
        let containers = template[path: "spec", "containers"]?.arrayValue ?? []
        #expect(containers.map { $0["name"] } == ["sidecar", "notebook"])
        let notebookContainer = containers[1]
        #expect(notebookContainer["image"] == "lab:2")
        #expect(notebookContainer[path: "resources", "requests", "cpu"] == "500m")
        #expect(notebookContainer[path: "resources", "limits", "memory"] == "1Gi")
        let env = (notebookContainer["env"]?.arrayValue ?? []).reduce(into: [String: KubeJSON]()) { $0[$1["name"]!.stringValue!] = $1 }
        #expect(env["MINE"]?["value"] == "1")
        #expect(env["KERNEL_USERNAME"]?["value"] == "alice", "the notebook's user, not the template's")
        #expect(containers[0]["env"] == nil, "other containers are left alone")
    }

    @Test func reconnectSettingsAreDefaultsTheTemplateMayOverride() throws {
        let notebook = try Fixtures.notebook("nb", spec: [
            "gateway": ["name": "g"],
            "template": ["spec": ["containers": [["name": "notebook", "env": [
                ["name": "JUPYTER_GATEWAY_RETRY_MAX", "value": "3"],
                ["name": "JUPYTER_GATEWAY_CONNECT_TIMEOUT", "valueFrom": ["configMapKeyRef": ["name": "c", "key": "k"]]],
            ]]]]],
        ])
        let container = try #require(render(notebook).children.child("Deployment", "nb")?[path: "spec", "template", "spec", "containers"]?[0])
        let entries = container["env"]?.arrayValue ?? []
        let names = entries.compactMap { $0["name"]?.stringValue }
        #expect(names.count == Set(names).count, "no variable twice")
        let env = entries.reduce(into: [String: KubeJSON]()) { $0[$1["name"]!.stringValue!] = $1 }
        #expect(env["JUPYTER_GATEWAY_RETRY_MAX"]?["value"] == "3", "the template's value is kept")
        #expect(env["JUPYTER_GATEWAY_CONNECT_TIMEOUT"]?[path: "valueFrom", "configMapKeyRef", "name"] == "c")
        #expect(env["JUPYTER_GATEWAY_RETRY_INTERVAL"]?["value"] == "1.0", "the others are still set")
        #expect(env["JUPYTER_GATEWAY_RETRY_INTERVAL_MAX"]?["value"] == "5.0")
        // Without a gateway there is nothing to reconnect to.
        let alone = try #require(render(try Fixtures.notebook("solo", spec: ["image": "lab:1"]), gateway: nil).children.child("Deployment", "solo"))
        #expect(alone.containerEnv.keys.filter { $0.hasPrefix("JUPYTER_GATEWAY_") }.isEmpty)
    }

    @Test func authCanBeDisabledOrComeFromTheUsersSecret() throws {
        let disabled = render(try Fixtures.notebook("nb", spec: ["auth": ["mode": "disable"]]), gateway: nil, token: nil)
        #expect(disabled.children.child("Secret", "nb-jupyter") == nil)
        let env = try #require(disabled.children.child("Deployment", "nb")).containerEnv
        #expect(env["JUPYTER_TOKEN"] == nil)
        #expect(env["NOTEBOOK_ARGS"]?["value"]?.stringValue?.contains("--IdentityProvider.token=") == true)
        #expect(env["JUPYTER_GATEWAY_URL"] == nil)
        let given = render(try Fixtures.notebook("nb", spec: ["auth": ["secretName": "mine"], "gateway": ["name": "g"]]), token: nil)
        let givenEnv = try #require(given.children.child("Deployment", "nb")).containerEnv
        #expect(givenEnv["JUPYTER_TOKEN"]?[path: "valueFrom", "secretKeyRef", "name"] == "mine")
        #expect(given.children.child("Secret", "nb-jupyter") == nil)
        #expect(given.absent.contains(AbsentChild(.secrets, namespace: "default", name: "nb-jupyter")),
                "a Secret left from the shared-token days goes")
    }

    @Test func aNewTokenRollsThePod() throws {
        let notebook = try Fixtures.notebook()
        let first = render(notebook).children.child("Deployment", "jupyternotebook-sample")
        let second = render(notebook, gatewayToken: "rotated").children.child("Deployment", "jupyternotebook-sample")
        let key = "elastic-jupyter.io/config-hash"
        #expect(first?[path: "spec", "template", "metadata", "annotations", key] != second?[path: "spec", "template", "metadata", "annotations", key])
    }
}


/// Why a notebook's claim stays Pending (issue 19 item 3). Pure.
@Suite struct ClaimDiagnosisTests {
    func claim(className: String?, phase: String = "Pending", age: TimeInterval = 60) -> KubeObject {
        var object = KubeObject(.persistentVolumeClaims, name: "nb-work", namespace: "ns")
        object.metadata.creationTimestamp = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-age))
        object.fields["spec"] = className.map { ["storageClassName": .string($0)] } ?? .emptyObject
        object.fields["status"] = ["phase": .string(phase)]
        return object
    }

    func storageClass(_ name: String, isDefault: Bool = false) -> KubeObject {
        var object = KubeObject(.storageClasses, name: name)
        if isDefault { object.metadata.annotations = ["storageclass.kubernetes.io/is-default-class": "true"] }
        return object
    }

    @Test func theCauseAndTheFixAreNamed() {
        let none = ClaimProblem.diagnose(claim: claim(className: nil), storageClasses: [storageClass("slow")])
        #expect(none?.reason == "NoDefaultStorageClass")
        #expect(none?.message.contains("spec.storage.enabled: false") == true)
        let missing = ClaimProblem.diagnose(claim: claim(className: "fast"), storageClasses: [storageClass("slow", isDefault: true)])
        #expect(missing?.reason == "StorageClassNotFound" && missing?.message.contains("fast") == true)
        let waiting = ClaimProblem.diagnose(claim: claim(className: nil), storageClasses: [storageClass("slow", isDefault: true)])
        #expect(waiting?.reason == "ClaimPending")
        #expect(ClaimProblem.diagnose(claim: claim(className: nil), storageClasses: nil)?.reason == "ClaimPending", "classes unreadable")
    }

    @Test func boundYoungOrAbsentClaimsAreFine() {
        #expect(ClaimProblem.diagnose(claim: claim(className: nil, phase: "Bound"), storageClasses: []) == nil)
        #expect(ClaimProblem.diagnose(claim: claim(className: nil, age: 5), storageClasses: []) == nil, "within the grace")
        #expect(ClaimProblem.diagnose(claim: claim(className: nil, age: 5), storageClasses: [], grace: 1) != nil)
        #expect(ClaimProblem.diagnose(claim: nil, storageClasses: []) == nil)
    }
}

/// A notebook's claim grows with its `storage.size` (issue 19 item 3). Pure.
@Suite struct ClaimResizeTests {
    func claim(size: String, className: String?) -> KubeObject {
        var object = KubeObject(.persistentVolumeClaims, name: "nb-work", namespace: "ns")
        var spec: KubeJSON = ["resources": ["requests": ["storage": .string(size)]]]
        if let className { spec["storageClassName"] = .string(className) }
        object.fields["spec"] = spec
        return object
    }

    func storageClass(_ name: String, expandable: Bool, isDefault: Bool = false) -> KubeObject {
        var object = KubeObject(.storageClasses, name: name)
        object.fields["allowVolumeExpansion"] = .bool(expandable)
        if isDefault { object.metadata.annotations = ["storageclass.kubernetes.io/is-default-class": "true"] }
        return object
    }

    @Test func onlyLargerSizesOnExpandableClassesGrow() {
        let classes = [storageClass("fast", expandable: true), storageClass("slow", expandable: false, isDefault: true)]
        #expect(ClaimResize.decide(desiredSize: "20Gi", claim: claim(size: "10Gi", className: "fast"), storageClasses: classes) == .grow(to: "20Gi"))
        #expect(ClaimResize.decide(desiredSize: "10Gi", claim: claim(size: "10Gi", className: "fast"), storageClasses: classes) == .none)
        #expect(ClaimResize.decide(desiredSize: "5Gi", claim: claim(size: "10Gi", className: "fast"), storageClasses: classes) == .none)
        #expect(ClaimResize.decide(desiredSize: "20Gi", claim: claim(size: "10Gi", className: nil), storageClasses: classes)
            == .notExpandable(storageClass: "slow"), "the default class decides for a claim naming none")
        #expect(ClaimResize.decide(desiredSize: "20Gi", claim: claim(size: "10Gi", className: "gone"), storageClasses: classes)
            == .notExpandable(storageClass: "gone"))
        #expect(ClaimResize.decide(desiredSize: "20G", claim: claim(size: "10Gi", className: "fast"), storageClasses: nil) == .grow(to: "20G"))
        #expect(ClaimResize.decide(desiredSize: "lots", claim: claim(size: "10Gi", className: "fast"), storageClasses: classes) == .none)
    }
}
