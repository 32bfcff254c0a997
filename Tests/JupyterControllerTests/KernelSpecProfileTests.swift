import Foundation
import KubernetesAPI
import Testing
@testable import JupyterController

/// A JupyterKernelSpec as a profile (issue 19 item 2): `resources`, `gpu`, `nodeSelector`, `tolerations`,
/// `affinity` and `logo` rendered into the kernelspec metadata and pod template the gateway honours; hostile
/// values refused by field, never rendered.
struct KernelSpecProfileTests {
    func kernelSpec(_ spec: KubeJSON) throws -> JupyterKernelSpec {
        var object = KubeObject(apiVersion: "kubeflow.tkestack.io/v1alpha1", kind: "JupyterKernelSpec", name: "p", namespace: "b")
        object.spec = spec
        return try JupyterKernelSpec(object)
    }

    func template(_ podSpec: KubeJSON) -> KubeObject {
        var object = KubeObject(apiVersion: "kubeflow.tkestack.io/v1alpha1", kind: "JupyterKernelTemplate", name: "t", namespace: "b")
        object.spec = ["template": ["spec": podSpec]]
        return object
    }

    static let gpuPolicy = KernelPolicy(maxResources: ["cpu": .string("8"), "memory": .string("32Gi"), "nvidia.com/gpu": .int(2)])

    static func svg(_ body: String) -> String {
        "data:image/svg+xml;base64," + Data(body.utf8).base64EncodedString()
    }

    @Test func gpuProfileBecomesMetadataAndSchedulingOfThePodTemplate() throws {
        let spec = try kernelSpec([
            "resources": ["requests": ["cpu": "2", "memory": "8Gi"], "limits": ["cpu": 4, "memory": "16Gi"]],
            "gpu": ["count": 1, "type": "NVIDIA-A100-SXM4-40GB"],
            "nodeSelector": ["pool": "gpu"],
            "tolerations": [["key": "dedicated", "operator": "Equal", "value": "research", "effect": "NoSchedule"]],
        ])
        #expect(KernelPodPolicy(Self.gpuPolicy).refusals(kernelSpec: spec, template: nil) == [])
        let files = KernelSpecRenderer.render(spec, template: nil, defaultImage: "k:1", policy: Self.gpuPolicy)
        let ours = try #require(files.kernelJSON[path: "metadata", "elastic_jupyter"])
        #expect(ours["resources"] == ["cpus": "2", "memory": "8Gi", "gpus": "1"])
        #expect(ours["limits"] == ["cpus": "4", "memory": "16Gi"])
        // No maximum named: the gateway's policy bounds the client; the GPU maximum is the count.
        #expect(ours["max_cpus"] == "8" && ours["max_memory"] == "32Gi" && ours["max_gpus"] == "1")
        #expect(ours["gpu_resource"] == nil, "the default resource is not spelled out")
        #expect(ours["pod_template"] == "pod.yaml")
        let pod = try #require(files.podTemplate)
        #expect(pod[path: "spec", "nodeSelector"] == ["pool": "gpu", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"])
        #expect(pod[path: "spec", "tolerations"] == [
            ["key": "dedicated", "operator": "Equal", "value": "research", "effect": "NoSchedule"],
            ["key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"],
        ])
    }

    @Test func profileFieldsMergeWithTheTemplateAndWinOverKernelResources() throws {
        let spec = try kernelSpec([
            "template": ["name": "t"],
            "kernelResources": ["cpus": "1", "memory": "2Gi", "maxCpus": "4", "maxGpus": 2],
            "resources": ["requests": ["memory": "4Gi"], "max": ["memory": "16Gi"]],
            "gpu": ["count": 1, "resourceName": "amd.com/gpu", "type": "MI300X", "typeLabel": "amd.com/gpu.product", "tolerations": []],
            "nodeSelector": ["zone": "b"],
            "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                ["matchExpressions": [["key": "fast", "operator": "Exists"]]]]]]],
        ])
        let kernelTemplate = template([
            "nodeSelector": ["zone": "a", "disk": "ssd"],
            "tolerations": [["key": "t", "operator": "Exists"]],
            "affinity": ["podAffinity": .emptyObject],
            "containers": [["name": "kernel", "resources": ["limits": ["memory": "6Gi"]]]],
        ])
        let policy = KernelPolicy(maxResources: ["cpu": .string("8"), "memory": .string("32Gi"), "amd.com/gpu": .int(1)])
        #expect(KernelPodPolicy(policy).refusals(kernelSpec: spec, template: kernelTemplate) == [])
        let files = KernelSpecRenderer.render(spec, template: kernelTemplate, defaultImage: "k:1", policy: policy)
        let ours = try #require(files.kernelJSON[path: "metadata", "elastic_jupyter"])
        // resources.requests.memory wins; kernelResources.cpus is kept; gpu.count wins.
        #expect(ours["resources"] == ["cpus": "1", "memory": "4Gi", "gpus": "1"])
        #expect(ours["max_cpus"] == "4" && ours["max_memory"] == "16Gi" && ours["max_gpus"] == "1")
        #expect(ours["gpu_resource"] == "amd.com/gpu")
        let pod = try #require(files.podTemplate)
        #expect(pod[path: "spec", "nodeSelector"] == ["zone": "b", "disk": "ssd", "amd.com/gpu.product": "MI300X"])
        #expect(pod[path: "spec", "tolerations"] == [["key": "t", "operator": "Exists"]], "an empty gpu.tolerations adds none")
        #expect(pod[path: "spec", "affinity", "nodeAffinity"] != nil && pod[path: "spec", "affinity", "podAffinity"] == nil)
        // The template's limit (audit A1.8) is still in the template the gateway merges requests into.
        #expect(pod[path: "spec", "containers"]?.arrayValue?.first?[path: "resources", "limits", "memory"] == "6Gi")
    }

    @Test func aProfileWithoutSchedulingNeedsNoTemplate() throws {
        let spec = try kernelSpec(["resources": ["requests": ["cpu": "500m"]]])
        let files = KernelSpecRenderer.render(spec, template: nil, defaultImage: "k:1")
        #expect(files.podTemplate == nil)
        #expect(files.kernelJSON[path: "metadata", "elastic_jupyter", "max_gpus"] == "0", "no GPU unless the policy allows one")
        let noGPU = try kernelSpec(["gpu": ["count": 0]])
        #expect(KernelSpecRenderer.render(noGPU, template: nil, defaultImage: "k:1").podTemplate == nil)
    }

    @Test func aGPUNeedsThePolicysConsent() throws {
        let spec = try kernelSpec(["gpu": ["count": 1]])
        let refused = KernelPodPolicy(nil).refusals(kernelSpec: spec, template: nil)
        #expect(refused.count == 1 && refused[0].hasPrefix("spec.gpu (1 nvidia.com/gpu above the gateway's kernelPolicy"), "\(refused)")
        let tooMany = try kernelSpec(["gpu": ["count": 1, "max": 3]])
        #expect(KernelPodPolicy(Self.gpuPolicy).refusals(kernelSpec: tooMany, template: nil).first?.hasPrefix("spec.gpu (3") == true)
        let old = try kernelSpec(["kernelResources": ["gpus": 1]])
        #expect(KernelPodPolicy(nil).refusals(kernelSpec: old, template: nil).first?.hasPrefix("spec.kernelResources (GPUs") == true)
        #expect(KernelPodPolicy(Self.gpuPolicy).refusals(kernelSpec: old, template: nil) == [])
    }

    @Test func hostileResourcesAreRefusedByField() throws {
        let spec = try kernelSpec([
            "resources": ["requests": ["cpu": "lots", "memory": "64Gi"], "limits": ["cpu": "-1", "memory": "1Gi"],
                          "max": ["memory": .string(String(repeating: "9", count: 100))]],
            "kernelResources": ["cpus": "1e999999"],
            "gpu": ["count": 65, "max": 2, "resourceName": "gpu", "type": "bad value!", "typeLabel": "/x"],
            "nodeSelector": ["bad key!": "v", "ok": .string(String(repeating: "v", count: 64))],
            "tolerations": [["key": "k", "operator": "Sometimes"], ["key": "k", "unknown": 1], ["operator": "Equal", "value": "v"],
                            ["key": "k", "tolerationSeconds": "soon"], ["operator": "Exists"]],
            "affinity": ["x": .string(String(repeating: "a", count: 17 * 1024))],
        ])
        let refused = KernelPodPolicy(Self.gpuPolicy).refusals(kernelSpec: spec, template: nil)
        for expected in [
            "spec.resources.requests.cpu (not a quantity)", "spec.resources.limits.cpu (not a quantity)",
            "spec.resources.max.memory (not a quantity)", "spec.kernelResources.cpus (not a quantity)",
            "spec.resources.requests.memory (above the gateway's kernelPolicy.maxResources.memory of 32Gi)",
            "spec.gpu.count (between 0 and 64)", "spec.gpu.count (above spec.gpu.max)",
            "spec.gpu.resourceName (an extended resource such as nvidia.com/gpu)",
            "spec.nodeSelector[bad key!] (not a label key and value)", "spec.nodeSelector[ok] (not a label key and value)",
            "spec.tolerations[0]", "spec.tolerations[1]", "spec.tolerations[2]", "spec.tolerations[3]", "spec.affinity (an object of at most 16384 bytes)",
        ] {
            #expect(refused.contains(expected), "missing \(expected) in \(refused)")
        }
        #expect(!refused.contains("spec.tolerations[4]"), "an empty key with Exists tolerates every taint")
        let requestAboveLimit = try kernelSpec(["resources": ["requests": ["cpu": "2"], "limits": ["cpu": "1"], "max": ["cpu": "1500m"]]])
        #expect(KernelPodPolicy(nil).refusals(kernelSpec: requestAboveLimit, template: nil) == [
            "spec.resources.requests.cpu (above spec.resources.limits.cpu)", "spec.resources.requests.cpu (above spec.resources.max.cpu)",
        ])
        let gpuOnlyPolicy = KernelPolicy(maxResources: ["nvidia.com/gpu": .int(1)])
        #expect(KernelPodPolicy(gpuOnlyPolicy).refusals(kernelSpec: try kernelSpec(["resources": ["limits": ["memory": "1Gi"]]]), template: nil)
            == ["spec.resources.limits.memory (the gateway's kernelPolicy.maxResources has no maximum for memory)"])
        let labels = try kernelSpec(["gpu": ["count": 1, "type": "bad value!", "typeLabel": "a/b/c"]])
        #expect(KernelPodPolicy(Self.gpuPolicy).refusals(kernelSpec: labels, template: nil) == [
            "spec.gpu.type (not a label value)", "spec.gpu.typeLabel (not a label key)",
        ])
    }

    @Test func logosBecomeKernelspecResourceFiles() throws {
        let png = Data(KernelSpecLogo.pngSignature + [0, 0, 0, 13]).base64EncodedString()
        let spec = try kernelSpec(["logo": .string("data:image/png;base64," + png)])
        #expect(KernelPodPolicy(nil).refusals(kernelSpec: spec, template: nil) == [])
        let files = KernelSpecRenderer.render(spec, template: nil, defaultImage: "k:1")
        #expect(files.logo?.fileName == "logo-64x64.png")
        let layout = KernelSpecRenderer.configMapLayout([files])
        #expect(layout.binaryData == ["p.logo-64x64.png": png])
        #expect(layout.items.contains(["key": "p.logo-64x64.png", "path": "p/logo-64x64.png"]))

        let svg = try KernelSpecLogo("data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22/%3E")
        #expect(svg.fileName == "logo-svg.svg" && String(data: svg.bytes, encoding: .utf8) == "<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
        #expect(try KernelSpecLogo(Self.svg("<svg><circle r=\"3\" fill=\"red\"/></svg>")).fileName == "logo-svg.svg")
    }

    @Test func hostileLogosAreRefusedNotRendered() throws {
        let huge = "data:image/png;base64," + Data(KernelSpecLogo.pngSignature + [UInt8](repeating: 0, count: 20_000)).base64EncodedString()
        let cases: [(String, KernelSpecLogo.Problem)] = [
            (huge, .tooLarge),
            ("data:image/png;base64," + Data((KernelSpecLogo.pngSignature + [UInt8](repeating: 0, count: 16 * 1024))).base64EncodedString(), .tooLarge),
            ("https://example.com/logo.png", .notADataURI),
            ("data:text/html;base64,PGgxPg==", .notADataURI),
            ("data:image/png,rawbytes", .notADataURI),
            ("data:image/png;base64,***", .notBase64),
            ("data:image/png;base64," + Data("GIF89a".utf8).base64EncodedString(), .notTheDeclaredImage),
            (Self.svg("<html>no svg here</html>"), .notTheDeclaredImage),
            (Self.svg("<svg><script>alert(1)</script></svg>"), .activeContent),
            (Self.svg("<svg onload=\"alert(1)\"/>"), .activeContent),
            (Self.svg("<svg><a href=\"JavaScript:alert(1)\"/></svg>"), .activeContent),
            (Self.svg("<svg><foreignObject><div/></foreignObject></svg>"), .activeContent),
        ]
        for (text, problem) in cases {
            #expect(throws: problem) { try KernelSpecLogo(text) }
            let spec = try kernelSpec(["logo": .string(text)])
            #expect(KernelPodPolicy(nil).refusals(kernelSpec: spec, template: nil) == ["spec.logo (\(problem))"])
            #expect(KernelSpecRenderer.render(spec, template: nil, defaultImage: "k:1").logo == nil)
        }
        // Words containing "on" are not event handlers.
        #expect(try KernelSpecLogo(Self.svg("<svg><text font=\"x\" content=\"y\">one</text></svg>")).fileName == "logo-svg.svg")
    }
}
