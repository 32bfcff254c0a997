import Foundation
import JupyterController
import KubernetesAPI
import Testing

/// `spec.prePull`: one DaemonSet per scheduling profile of the offered kernelspecs, pulling their images.
@Suite struct GatewayPrePullTests {
    static let settings = RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "kernel:1")
    static let gpuTemplate = Fixtures.object("JupyterKernelTemplate", name: "gpu", spec: [
        "template": ["spec": [
            "nodeSelector": ["nvidia.com/gpu.product": "A100"],
            "tolerations": [["key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"]],
            "containers": [["name": "kernel", "resources": ["limits": ["nvidia.com/gpu": "1"]]]],
        ]],
    ])

    /// Renders a gateway; its kernel policy lets the GPU template ask for a GPU (as deploy/samples/gpu-kernels.yaml).
    func render(_ spec: KubeJSON, kernelSpecs: [JupyterKernelSpec] = []) throws -> GatewayRendering {
        var spec = spec
        spec["kernelPolicy"] = ["maxResources": ["cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2]]
        return GatewayRenderer(GatewayRenderInput(
            gateway: try Fixtures.gateway(spec: spec), kernelSpecs: Dictionary(uniqueKeysWithValues: kernelSpecs.map { ($0.name, $0) }),
            kernelTemplates: [ObjectKey(namespace: "default", name: "gpu"): Self.gpuTemplate], authToken: "t",
            settings: Self.settings)).render()
    }

    func daemonSets(_ rendering: GatewayRendering) -> [KubeObject] {
        rendering.children.filter { $0.resource == GatewayRenderer.daemonSets }.map(\.object).sorted { $0.name < $1.name }
    }

    static func initContainers(_ daemonSet: KubeObject) -> [KubeJSON] {
        daemonSet[path: "spec", "template", "spec", "initContainers"]?.arrayValue ?? []
    }

    @Test func builtInKernelIsPrePulledByDefaultWithoutAShell() throws {
        let rendering = try render([:])
        let sets = daemonSets(rendering)
        try #require(sets.count == 1)
        let daemonSet = sets[0]
        #expect(daemonSet.name.hasPrefix("jupytergateway-sample-prepull-"))
        #expect(daemonSet.ownerReferences.first?.uid == "uid-jupytergateway-sample")
        #expect(daemonSet.labels["app.kubernetes.io/component"] == "prepull")
        let pod = try #require(daemonSet[path: "spec", "template", "spec"])
        #expect(pod["nodeSelector"] == nil && pod["tolerations"] == nil && pod["affinity"] == nil)
        let inits = Self.initContainers(daemonSet)
        #expect(inits.map { $0["image"] } == ["gw:1", "kernel:1"])
        #expect(inits[0]["command"] == ["cp", "/usr/local/libexec/elastic-jupyter/noop", "/prepull/noop"])
        #expect(inits[1]["command"] == ["/prepull/noop"], "the kernel image runs only the copied no-op: no shell needed")
        let main = try #require(pod["containers"]?[0])
        #expect(main["image"] == "gw:1" && main["args"] == ["pause"])
        for container in inits + [main] {
            #expect(container[path: "securityContext", "allowPrivilegeEscalation"] == false)
            #expect(container[path: "securityContext", "runAsNonRoot"] == true)
            #expect(container[path: "securityContext", "capabilities", "drop"] == ["ALL"])
            #expect(container[path: "securityContext", "seccompProfile", "type"] == "RuntimeDefault")
            #expect(container[path: "resources", "requests", "cpu"] == "1m")
        }
        #expect(pod[path: "securityContext", "runAsNonRoot"] == true)
        #expect(pod["automountServiceAccountToken"] == false)
        let selector = daemonSet[path: "spec", "selector", "matchLabels"]?.objectValue ?? [:]
        let podLabels = daemonSet[path: "spec", "template", "metadata", "labels"]?.objectValue ?? [:]
        #expect(Set(selector.keys) == ["app.kubernetes.io/component", "elastic-jupyter.io/gateway", "elastic-jupyter.io/prepull-profile"])
        #expect(selector.allSatisfy { podLabels[$0.key] == $0.value }, "the selector matches the pods")
        #expect(rendering.prePull.map(\.images) == [["kernel:1"]])
    }

    @Test func oneDaemonSetPerSchedulingProfileWithItsImages() throws {
        let cpu = try Fixtures.kernelSpec("cpu", spec: ["image": "kernel:cpu"])
        let small = try Fixtures.kernelSpec("small", spec: ["image": "kernel:small"])
        let gpu = try Fixtures.kernelSpec("gpu", spec: ["image": "kernel:gpu", "template": ["name": "gpu"]])
        let rendering = try render(["kernels": ["cpu", "small", "gpu"]], kernelSpecs: [cpu, small, gpu])
        let sets = daemonSets(rendering)
        try #require(sets.count == 2)
        let gpuSet = try #require(sets.first { $0[path: "spec", "template", "spec", "nodeSelector"] != nil })
        let cpuSet = try #require(sets.first { $0[path: "spec", "template", "spec", "nodeSelector"] == nil })
        #expect(gpuSet[path: "spec", "template", "spec", "nodeSelector"] == ["nvidia.com/gpu.product": "A100"])
        #expect(gpuSet[path: "spec", "template", "spec", "tolerations"] == [["key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"]])
        #expect(Self.initContainers(gpuSet).dropFirst().map { $0["image"] } == ["kernel:gpu"])
        #expect(Self.initContainers(cpuSet).dropFirst().map { $0["image"] } == ["kernel:cpu", "kernel:small"])
        #expect(cpuSet[path: "spec", "template", "spec", "tolerations"] == nil)
        #expect(gpuSet[path: "spec", "template", "spec", "containers"]?[0]?[path: "resources", "limits", "nvidia.com/gpu"] == nil,
                "a pre-pull pod never holds a GPU")

        // The names follow the profile only: adding a kernelspec with the CPU profile keeps both names.
        let more = try Fixtures.kernelSpec("more", spec: ["image": "kernel:more"])
        let again = try render(["kernels": ["cpu", "small", "gpu", "more"]], kernelSpecs: [cpu, small, gpu, more])
        #expect(daemonSets(again).map(\.name) == sets.map(\.name))
        #expect(Self.initContainers(daemonSets(again).first { $0.name == cpuSet.name }!).dropFirst().map { $0["image"] }
                == ["kernel:cpu", "kernel:more", "kernel:small"])
    }

    @Test func onlyTheNodeAffinityOfATemplateCounts() throws {
        let nodeAffinity: KubeJSON = ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
            ["matchExpressions": [["key": "pool", "operator": "In", "values": ["big"]]]],
        ]]]
        let spread: KubeJSON = ["requiredDuringSchedulingIgnoredDuringExecution": [
            ["labelSelector": ["matchLabels": ["team": "ml"]], "topologyKey": "kubernetes.io/hostname"],
        ]]
        let template = Fixtures.object("JupyterKernelTemplate", name: "pool", spec: [
            "template": ["spec": ["affinity": ["nodeAffinity": nodeAffinity, "podAntiAffinity": spread]]],
        ])
        let spreadOnly = Fixtures.object("JupyterKernelTemplate", name: "spread", spec: [
            "template": ["spec": ["affinity": ["podAntiAffinity": spread]]],
        ])
        let pooled = try Fixtures.kernelSpec("pooled", spec: ["image": "kernel:pool", "template": ["name": "pool"]])
        let spreading = try Fixtures.kernelSpec("spreading", spec: ["image": "kernel:spread", "template": ["name": "spread"]])
        let rendering = GatewayRenderer(GatewayRenderInput(
            gateway: try Fixtures.gateway(spec: ["kernels": ["pooled", "spreading"]]),
            kernelSpecs: ["pooled": pooled, "spreading": spreading],
            kernelTemplates: [ObjectKey(namespace: "default", name: "pool"): template, ObjectKey(namespace: "default", name: "spread"): spreadOnly],
            authToken: "t", settings: Self.settings)).render()
        let sets = daemonSets(rendering)
        try #require(sets.count == 2)
        let pool = try #require(sets.first { Self.initContainers($0).last?["image"] == "kernel:pool" })
        let spreadSet = try #require(sets.first { Self.initContainers($0).last?["image"] == "kernel:spread" })
        #expect(pool[path: "spec", "template", "spec", "affinity"] == ["nodeAffinity": nodeAffinity])
        #expect(spreadSet[path: "spec", "template", "spec", "affinity"] == nil, "a pod anti-affinity alone runs everywhere")
    }

    @Test func profileFieldsOfAKernelSpecArePickedUpFromTheRenderedTemplate() throws {
        let small = try Fixtures.kernelSpec("small", spec: ["image": "kernel:small", "resources": ["requests": ["cpu": "500m"]]])
        let memory = try Fixtures.kernelSpec("memory", spec: [
            "image": "kernel:small", "nodeSelector": ["node.kubernetes.io/instance-type": "highmem"],
        ])
        let gpu = try Fixtures.kernelSpec("gpu", spec: ["image": "kernel:cuda", "gpu": ["count": 1, "type": "NVIDIA-A100-SXM4-40GB"]])
        let rendering = try render(["kernels": ["small", "memory", "gpu"]], kernelSpecs: [small, memory, gpu])
        #expect(rendering.refusedKernelSpecs.isEmpty, "\(rendering.refusedKernelSpecs)")
        let sets = daemonSets(rendering)
        try #require(sets.count == 3)
        let configMap = try #require(rendering.children.child("ConfigMap", "jupytergateway-sample-kernelspecs"))
        for (name, image) in [("small", "kernel:small"), ("memory", "kernel:small"), ("gpu", "kernel:cuda")] {
            let text = configMap[path: "data", "\(name).pod.yaml"]?.stringValue ?? "{}"
            let template = try JSONDecoder().decode(KubeJSON.self, from: Data(text.utf8))
            let daemonSet = try #require(sets.first { $0.annotations["elastic-jupyter.io/prepull-kernelspecs"] == name })
            #expect(Self.initContainers(daemonSet).dropFirst().map { $0["image"] } == [.string(image)])
            for field in ["nodeSelector", "tolerations"] {
                #expect(daemonSet[path: "spec", "template", "spec", field] == template[path: "spec", field], "\(name) \(field)")
            }
        }
        let gpuSet = try #require(sets.first { $0.annotations["elastic-jupyter.io/prepull-kernelspecs"] == "gpu" })
        #expect(gpuSet[path: "spec", "template", "spec", "nodeSelector"]?.objectValue?.isEmpty == false)
        #expect(gpuSet[path: "spec", "template", "spec", "tolerations"]?.arrayValue?.isEmpty == false)
    }

    @Test func prePullOffRendersNoDaemonSet() throws {
        let rendering = try render(["prePull": ["enabled": false]])
        #expect(daemonSets(rendering).isEmpty)
        #expect(rendering.prePull.isEmpty)
    }

    @Test func progressSumsTheDaemonSetsPullingEachImage() throws {
        let cpu = try Fixtures.kernelSpec("cpu", spec: ["image": "kernel:shared"])
        let gpu = try Fixtures.kernelSpec("gpu", spec: ["image": "kernel:shared", "template": ["name": "gpu"]])
        let rendering = try render(["kernels": ["cpu", "gpu"]], kernelSpecs: [cpu, gpu])
        try #require(rendering.prePull.count == 2)
        var live: [String: KubeObject] = [:]
        for (set, counts) in zip(rendering.prePull, [(2, 3), (1, 1)]) {
            var object = KubeObject(GatewayRenderer.daemonSets, name: set.name, namespace: "default")
            object.status = ["numberReady": .int(Int64(counts.0)), "desiredNumberScheduled": .int(Int64(counts.1))]
            live[set.name] = object
        }
        let progress = PrePullProgress(sets: rendering.prePull, daemonSets: live)
        #expect(progress.images.map(\.image) == ["kernel:shared"])
        #expect(progress.images.first?.pulled == 3 && progress.images.first?.desired == 4)
        #expect(progress.json["progress"] == "3/4")
        // A hostile or missing status counts nothing.
        var bad = live[rendering.prePull[0].name]!
        bad.status = ["numberReady": -5, "desiredNumberScheduled": "many"]
        let partial = PrePullProgress(sets: rendering.prePull, daemonSets: [bad.name: bad])
        #expect(partial.json["progress"] == "0/0")
    }

    @Test func upstreamEnterpriseGatewayImageRunsOursWithACondition() throws {
        let gateway = try Fixtures.gateway(spec: ["image": "elyra/enterprise-gateway:3.2.3"])
        #expect(gateway.spec.refusedFields(gatewayImage: "gw:1") == [])
        let rendering = try render(["image": "elyra/enterprise-gateway:3.2.3"])
        let deployment = try #require(rendering.children.child("Deployment", "jupytergateway-sample"))
        #expect(deployment[path: "spec", "template", "spec", "containers"]?[0]?["image"] == "gw:1")
        #expect(Self.initContainers(daemonSets(rendering)[0]).first?["image"] == "gw:1")
        var builder = GatewayStatusBuilder(
            gateway: gateway, rendering: rendering, workload: WorkloadState(deployment: nil), kernels: 0, error: nil)
        builder.gatewayImage = "gw:1"
        let conditions = builder.build(previous: nil)["conditions"]?.arrayValue ?? []
        let condition = try #require(conditions.first { $0["type"] == "EnterpriseGatewayImage" })
        #expect(condition["status"] == "True")
        #expect(condition["message"]?.stringValue?.contains("gw:1 runs instead") == true)
        #expect(conditions.first { $0["type"] == "Degraded" }?["status"] == "False")
        // Any other foreign image is still refused.
        #expect(try Fixtures.gateway(spec: ["image": "evil/shell:1"]).spec.refusedFields(gatewayImage: "gw:1").count == 1)
    }

    @Test func kernelStatesCountPodsByPhase() {
        func pod(_ name: String, phase: String?, deleting: Bool = false, gateway: String = "g") -> KubeObject {
            var object = KubeObject(.pods, name: name, namespace: "default")
            object.labels = ["app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": gateway]
            if let phase { object.status = ["phase": .string(phase)] }
            if deleting { object.metadata.deletionTimestamp = "2026-01-01T00:00:00Z" }
            return object
        }
        let pods = [
            pod("a", phase: nil), pod("b", phase: "Pending"), pod("c", phase: "Running"), pod("d", phase: "Running", deleting: true),
            pod("e", phase: "Failed"), pod("f", phase: "Running", gateway: "other"),
        ]
        let states = KernelPodStates(
            pods: pods, namespace: "default", labels: ["app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": "g"])
        #expect(states == KernelPodStates(pending: 2, running: 1, terminating: 1, ended: 1))
    }
}
