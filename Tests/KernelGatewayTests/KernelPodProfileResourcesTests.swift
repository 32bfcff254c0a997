import JupyterProtocol
import KubernetesAPI
@testable import KernelGateway
import Testing

/// A profile's resources as the gateway applies them (issue 19 item 2): the GPU extended resource a kernelspec
/// names, default limits from the kernelspec, and a template's limit kept when the requests come from the
/// kernelspec (audit A1.8).
@Suite struct KernelPodProfileResourcesTests {
    @Test func gpusAreTheKernelspecsExtendedResource() throws {
        let ours: [String: JSONValue] = ["resources": ["gpus": "1"], "max_gpus": "2", "gpu_resource": "amd.com/gpu"]
        let resources = try KernelPodRenderer.resources(env: [:], ours: ours)
        #expect(resources["requests"]?["amd.com/gpu"]?.stringValue == "1")
        #expect(resources["limits"]?["amd.com/gpu"]?.stringValue == "1")
        #expect(resources["limits"]?["nvidia.com/gpu"] == nil)
        let more = try KernelPodRenderer.resources(env: ["KERNEL_GPUS": "2"], ours: ours)
        #expect(more["limits"]?["amd.com/gpu"]?.stringValue == "2")
        #expect(throws: GatewayError.self) { try KernelPodRenderer.resources(env: ["KERNEL_GPUS": "3"], ours: ours) }
    }

    @Test(arguments: ["", "gpu", "/gpu", "a/b/c", "nvidia.com/gpu ", "x/y;rm", String(repeating: "a", count: 320) + "/gpu"])
    func aBadGPUResourceNameMeansNVIDIA(name: String) throws {
        let resources = try KernelPodRenderer.resources(env: [:], ours: ["resources": ["gpus": "1"], "gpu_resource": .string(name)])
        #expect(resources["limits"]?["nvidia.com/gpu"]?.stringValue == "1")
        #expect(resources["limits"]?.objectValue?.count == 1)
    }

    @Test func kernelspecLimitsAndTemplateLimitsSurviveKernelspecRequests() throws {
        let ours: [String: JSONValue] = ["resources": ["cpus": "500m", "memory": "1Gi"], "limits": ["cpus": "1", "memory": "2Gi"],
                                         "max_cpus": "4", "max_memory": "8Gi"]
        let plain = try KernelPodResources(defaultCPULimit: "2", defaultMemoryLimit: "4Gi").render(env: [:], ours: ours, template: [:])
        #expect(plain["requests"] == ["cpu": "500m", "memory": "1Gi"])
        #expect(plain["limits"] == ["cpu": "1", "memory": "2Gi"], "the profile's limits, not the gateway's defaults")
        let template = try KernelPodResources(defaultCPULimit: nil, defaultMemoryLimit: nil)
            .render(env: [:], ours: ours, template: ["limits": ["memory": "1536Mi"]])
        #expect(template["limits"] == ["cpu": "1", "memory": "1536Mi"], "the template's limit wins over the profile's default")
        let raised = try KernelPodResources(defaultCPULimit: nil, defaultMemoryLimit: nil).render(env: ["KERNEL_CPUS": "3"], ours: ours, template: [:])
        #expect(raised["limits"]?["cpu"]?.stringValue == "3", "a default limit is raised to a larger request within the maximum")
    }
}
