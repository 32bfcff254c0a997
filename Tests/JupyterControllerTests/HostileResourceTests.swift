import Foundation
import KubernetesAPI
import Testing
@testable import JupyterController

/// Consent across namespaces, the kernel pod allow-list, range checks, bounded finalizers and Event budget
/// (issue 14, controller side).
struct HostileResourceTests {
    func gateway(namespace: String = "b", spec: KubeJSON = .emptyObject) throws -> JupyterGateway {
        var object = KubeObject(apiVersion: "kubeflow.tkestack.io/v1alpha1", kind: "JupyterGateway", name: "gw", namespace: namespace)
        object.spec = spec
        return try JupyterGateway(object)
    }

    @Test func consentDefaultsToTheOwnNamespace() throws {
        let gw = try gateway()
        #expect(NamespaceConsent.allows("b", gateway: gw, namespaceLabels: nil))
        #expect(!NamespaceConsent.allows("a", gateway: gw, namespaceLabels: ["any": "thing"]))
    }

    @Test func consentByNameOrSelector() throws {
        let gw = try gateway(spec: ["allowedNamespaces": [
            "names": ["a"], "selector": ["matchLabels": ["tenant": "yes"], "matchExpressions": [["key": "frozen", "operator": "DoesNotExist"]]],
        ]])
        #expect(NamespaceConsent.allows("a", gateway: gw, namespaceLabels: nil))
        #expect(!NamespaceConsent.needsLabels("a", gateway: gw))
        #expect(NamespaceConsent.needsLabels("c", gateway: gw))
        #expect(NamespaceConsent.allows("c", gateway: gw, namespaceLabels: ["tenant": "yes"]))
        #expect(!NamespaceConsent.allows("c", gateway: gw, namespaceLabels: ["tenant": "yes", "frozen": "1"]))
        #expect(!NamespaceConsent.allows("c", gateway: gw, namespaceLabels: nil))
        #expect(!LabelSelector().matches(["a": "b"]), "an empty selector allows nothing")
    }

    @Test func hugeNumbersAreRangeChecked() throws {
        let gw = try gateway(spec: ["kernelLaunchTimeout": .int(Int64.max), "replicas": 2])
        #expect(gw.spec.rangeProblems == ["spec.kernelLaunchTimeout must be between 1 and 86400"])
        #expect(gw.spec.launchTimeoutInRange == 86_400)
        let old = try gateway(spec: ["cullMaxAge": .int(Int64.max)])
        #expect(old.spec.rangeProblems == ["spec.cullMaxAge must be between 0 and 31536000"])
    }

    func kernelSpec(_ spec: KubeJSON) throws -> JupyterKernelSpec {
        var object = KubeObject(apiVersion: "kubeflow.tkestack.io/v1alpha1", kind: "JupyterKernelSpec", name: "k", namespace: "b")
        object.spec = spec
        return try JupyterKernelSpec(object)
    }

    func template(_ podSpec: KubeJSON, annotations: KubeJSON = .emptyObject) -> KubeObject {
        var object = KubeObject(apiVersion: "kubeflow.tkestack.io/v1alpha1", kind: "JupyterKernelTemplate", name: "t", namespace: "b")
        object.spec = ["template": ["metadata": ["annotations": annotations], "spec": podSpec]]
        return object
    }

    /// A kernelspec as a profile (issue 19 item 2): its cull overrides reach the kernelspec metadata the gateway
    /// honours; values out of range refuse the kernelspec with the field named.
    @Test func cullOverridesAreRenderedAndRangeChecked() throws {
        let gpu = try kernelSpec(["cull": ["idleTimeout": 900, "connected": true, "busy": false, "maxAge": 28800]])
        let files = KernelSpecRenderer.render(gpu, template: nil, defaultImage: "k:1")
        let ours = try #require(files.kernelJSON[path: "metadata", "elastic_jupyter"])
        #expect(ours["cull_idle_timeout"] == .int(900) && ours["cull_max_age"] == .int(28800))
        #expect(ours["cull_connected"] == .bool(true) && ours["cull_busy"] == .bool(false))
        #expect(KernelPodPolicy(nil).refusals(kernelSpec: gpu, template: nil).isEmpty)
        let hostile = try kernelSpec(["cull": ["idleTimeout": .int(Int64.max), "maxAge": -5]])
        let refusals = KernelPodPolicy(nil).refusals(kernelSpec: hostile, template: nil)
        #expect(refusals.contains { $0.hasPrefix("spec.cull.idleTimeout") } && refusals.contains { $0.hasPrefix("spec.cull.maxAge") }, "\(refusals)")
    }

    @Test func refusedFieldsAreNamed() throws {
        let policy = KernelPodPolicy(nil)
        let plain = try kernelSpec(.emptyObject)
        let cases: [(KubeJSON, String)] = [
            (["hostIPC": true], "spec.hostIPC"),
            (["hostUsers": true], "spec.hostUsers"),
            (["serviceAccountName": "admin"], "spec.serviceAccountName"),
            (["volumes": [["name": "v", "hostPath": ["path": "/"]]]], "volumes[0].hostPath"),
            (["volumes": [["name": "v", "projected": .emptyObject]]], "volumes[0].projected"),
            (["securityContext": ["supplementalGroups": [0]]], "securityContext.supplementalGroups"),
            (["securityContext": ["sysctls": []]], "securityContext.sysctls"),
            (["containers": [["name": "k", "securityContext": ["runAsGroup": 0]]]], "securityContext.runAsGroup"),
            (["containers": [["name": "k", "securityContext": ["procMount": "Unmasked"]]]], "securityContext.procMount"),
            (["containers": [["name": "k", "envFrom": [["secretRef": ["name": "x"]]]]]], "envFrom[0].secretRef"),
            (["containers": [["name": "k", "resources": ["requests": ["memory": "64Gi"]]]]], "requests.memory"),
        ]
        for (podSpec, field) in cases {
            let refusals = policy.refusals(kernelSpec: plain, template: template(podSpec))
            #expect(refusals.contains { $0.contains(field) }, "\(field): \(refusals)")
        }
        let apparmor = policy.refusals(kernelSpec: plain, template: template(
            .emptyObject, annotations: ["container.apparmor.security.beta.kubernetes.io/kernel": "unconfined"]))
        #expect(apparmor.count == 1)
    }

    @Test func allowedFieldsPass() throws {
        let policy = KernelPodPolicy(KernelPolicy(allowedVolumeTypes: ["emptyDir", "secret"], allowedSecrets: ["data"], maxResources: ["cpu": .string("4"), "memory": .string("8Gi")]))
        let spec = try kernelSpec(["env": [["name": "D", "valueFrom": ["secretKeyRef": ["name": "data", "key": "k"]]]]])
        let pod: KubeJSON = [
            "nodeSelector": ["a": "b"], "tolerations": [["key": "x", "operator": "Exists"]], "affinity": .emptyObject,
            "volumes": [["name": "s", "secret": ["secretName": "data"]], ["name": "e", "emptyDir": .emptyObject]],
            "securityContext": ["runAsUser": 1000, "fsGroup": 100, "seccompProfile": ["type": "RuntimeDefault"]],
            "containers": [["name": "kernel", "image": "i", "resources": ["limits": ["cpu": "4", "memory": "8Gi"]],
                            "securityContext": ["allowPrivilegeEscalation": false, "capabilities": ["drop": ["ALL"]]]]],
        ]
        #expect(policy.refusals(kernelSpec: spec, template: template(pod)) == [])
        let local = try kernelSpec(["className": "a.b.LocalProcessProxy"])
        #expect(policy.refusals(kernelSpec: local, template: KubeObject?.none).first?.hasPrefix("spec.className") == true)
    }

    @Test func gatewayImageAndAnnotationsAreAllowListed() throws {
        let fine = try gateway(spec: ["image": "registry/elastic-jupyter:2"])
        #expect(fine.spec.refusedFields(gatewayImage: "registry/elastic-jupyter:1") == [])
        let digest = try gateway(spec: ["image": "registry:5000/elastic-jupyter@sha256:abc"])
        #expect(digest.spec.refusedFields(gatewayImage: "registry:5000/elastic-jupyter:1") == [])
        let other = try gateway(spec: [
            "image": "evil/shell:1", "ingress": ["host": "h", "annotations": ["nginx.ingress.kubernetes.io/server-snippet": "x"]],
        ])
        let refused = other.spec.refusedFields(gatewayImage: "registry/elastic-jupyter:1")
        #expect(refused.count == 2)
        #expect(refused.first?.hasPrefix("spec.image") == true)
    }

    @Test func finalizersNeverWedge() {
        let deleting = "2026-01-01T00:00:00Z"
        let start = ISO8601DateFormatter().date(from: deleting)!
        #expect(KernelPods.finalizerDecision(KernelPodCount(active: 0, terminating: 0), deletionTimestamp: deleting) == .done)
        #expect(KernelPods.finalizerDecision(KernelPodCount(active: 1, terminating: 0), deletionTimestamp: deleting, now: start) == .wait)
        #expect(KernelPods.finalizerDecision(KernelPodCount(active: 0, terminating: 2), deletionTimestamp: deleting, now: start + 5) == .wait)
        #expect(KernelPods.finalizerDecision(KernelPodCount(active: 0, terminating: 2), deletionTimestamp: deleting, now: start + 31) == .giveUp)
    }

    @Test func eventBudgetIsBoundedAndRateLimited() {
        var budget = EventBudget(capacity: 100, rate: 5, burst: 10)
        let now = ContinuousClock.now
        var written = 0
        for index in 0..<1000 where budget.admit("k\(index)", now: now, repeatInterval: .seconds(600)) == .write { written += 1 }
        #expect(written == 10)
        #expect(budget.admit("k0", now: now, repeatInterval: .seconds(600)) == .duplicate)
        for index in 0..<1000 { _ = budget.admit("later\(index)", now: now + .seconds(index), repeatInterval: .seconds(600)) }
        #expect(budget.count <= 100)
    }
}
