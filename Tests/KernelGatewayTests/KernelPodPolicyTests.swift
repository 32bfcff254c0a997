import ElasticJupyterContract
import Foundation
import JupyterProtocol
@testable import KernelGateway
import KubernetesAPI
import Testing

/// Issue 14, the kernel-pod side: images, ids, user names, limits and GPU variables a client cannot bend.
@Suite struct KernelPodPolicyTests {
    typealias R = KernelPodRendererTests

    // MARK: Images (finding 14)

    @Test(arguments: [
        ("registry.example/team/*", "registry.example/team/nb:1", true),
        ("registry.example/team/*", "registry.example/team/a/b@sha256:00", true),
        ("registry.example/team/*", "registry.example/teams/nb:1", false),
        ("registry.example/team/*", "evil.example/registry.example/team/x", false),
        ("python:3.1?", "python:3.12", true),
        ("python:3.1?", "python:3.1", false),
        ("exact:1", "exact:1", true),
        ("exact:1", "exact:12", false),
    ])
    func imagePatterns(pattern: String, image: String, matches: Bool) {
        #expect(KernelImagePolicy.matches(image, pattern: pattern) == matches, "\(pattern) ~ \(image)")
    }

    @Test func aKernelspecMayAllowImagesItself() throws {
        let ours: [String: JSONValue] = ["allowed_images": ["quay.io/jupyter/*"]]
        #expect(R.container(try R.render(ours: ours, env: ["KERNEL_IMAGE": "quay.io/jupyter/scipy-notebook:2025"]))["image"]
            == "quay.io/jupyter/scipy-notebook:2025")
        #expect(R.isInvalid(try R.failure(ours: ours, env: ["KERNEL_IMAGE": "docker.io/library/alpine:3"])))
    }

    // MARK: User and group ids (finding 14)

    @Test func idsOutsideTheRangeAreInvalid() throws {
        #expect(R.isInvalid(try R.failure(env: ["KERNEL_UID": "999"])), "a system account")
        #expect(R.isInvalid(try R.failure(env: ["KERNEL_UID": "65536"])))
        #expect(R.isInvalid(try R.failure(env: ["KERNEL_GID": "42"])), "a system group (shadow)")
        var narrow = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        narrow.identity = KernelIdentityPolicy(uidRange: 1000...1000, gidRange: 100...100)
        #expect(R.isInvalid(try R.failure(env: ["KERNEL_UID": "1001"], configuration: narrow)))
        let rendered = try R.render(env: ["KERNEL_UID": "1000", "KERNEL_GID": "100"], configuration: narrow)
        #expect(rendered.pod.json[path: "spec", "securityContext", "runAsUser"] == .int(1000))
    }

    @Test func prohibitedIdsAreRefusedAsEG() throws {
        var configuration = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        configuration.identity = KernelIdentityPolicy(prohibitedUIDs: [0, 1500], prohibitedGIDs: [0, 200])
        #expect(R.isLimit(try R.failure(env: ["KERNEL_UID": "1500"], configuration: configuration)))
        #expect(R.isLimit(try R.failure(env: ["KERNEL_GID": "200"], configuration: configuration)))
        // Group 0 is refused even when the range and the list would allow it.
        configuration.identity = KernelIdentityPolicy(gidRange: 0...65535, prohibitedGIDs: [])
        #expect(R.isLimit(try R.failure(env: ["KERNEL_GID": "0"], configuration: configuration)))
    }

    @Test func idRangesParse() {
        #expect(KernelIdentityPolicy.parseRange("1000-65535") == 1000...65535)
        #expect(KernelIdentityPolicy.parseRange("1000") == 1000...1000)
        for bad in ["", "a-b", "5-1", "-1-3", "1-2-3", "1-99999999999"] { #expect(KernelIdentityPolicy.parseRange(bad) == nil, "\(bad)") }
    }

    // MARK: User names (finding 32, log injection)

    @Test(arguments: ["alice", "Alice.Smith@example.org", "u_1-2", String(repeating: "a", count: 64)])
    func safeUserNamesPass(name: String) {
        #expect(KernelEnvironment.isSafeUserName(name))
    }

    @Test(arguments: ["", "Dr. Émilie", "../etc", "a/b", "a\u{1b}[31m", "a\tb", "a\u{2028}b", "x y", String(repeating: "a", count: 65), "ｆｕｌｌ"])
    func unsafeUserNamesAreRefused(name: String) throws {
        #expect(!KernelEnvironment.isSafeUserName(name))
        do {
            _ = try KernelEnvironment.acceptedClientVariables(["KERNEL_USERNAME": name], configuration: KernelManagerConfiguration(rootDirectory: "/tmp"))
            Issue.record("accepted \(name.debugDescription)")
        } catch {
            guard case .invalidRequest = error else { Issue.record("\(error)"); return }
        }
    }

    // MARK: Limits (finding 12)

    static let templateWithLimits = """
        apiVersion: v1
        kind: Pod
        spec:
          containers:
            - name: kernel
              resources:
                requests: {ephemeral-storage: 1Gi}
                limits: {cpu: "3", memory: 6Gi, ephemeral-storage: 2Gi}
        """

    @Test func aTemplatesLimitsSurviveARequest() throws {
        let rendered = try R.render(template: Self.templateWithLimits, ours: R.bounded, env: ["KERNEL_CPUS": "1", "KERNEL_MEMORY": "2Gi"])
        #expect(R.container(rendered)["resources"] == [
            "requests": ["cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"],
            "limits": ["cpu": "3", "memory": "6Gi", "ephemeral-storage": "2Gi"],
        ])
    }

    @Test func aRequestAboveTheTemplatesLimitIsRefused() throws {
        #expect(R.isLimit(try R.failure(template: Self.templateWithLimits, ours: R.bounded, env: ["KERNEL_MEMORY": "7Gi"])))
    }

    @Test func theKernelspecsLimitsWinOverTheGatewayDefault() throws {
        let rendered = try R.render(ours: ["resources": ["cpus": "1", "memory": "1Gi"], "limits": ["cpus": "4", "memory": "3Gi"]])
        #expect(R.container(rendered)[path: "resources", "limits"] == ["cpu": "4", "memory": "3Gi"])
    }

    @Test func aDefaultLimitIsRaisedToTheRequest() throws {
        let rendered = try R.render(ours: R.bounded, env: ["KERNEL_CPUS": "3", "KERNEL_MEMORY": "6Gi"])
        #expect(R.container(rendered)[path: "resources", "limits"] == ["cpu": "3", "memory": "6Gi"])
    }

    @Test func aClientLimitBelowItsRequestIsRefused() throws {
        #expect(R.isLimit(try R.failure(ours: R.bounded, env: ["KERNEL_MEMORY": "4Gi", "KERNEL_MEMORY_LIMIT": "1Gi"])))
    }

    // MARK: GPUs (finding 10)

    @Test func nvidiaVisibleDevicesNeverReachesAContainer() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              initContainers:
                - name: init
                  image: busybox
                  env: [{name: NVIDIA_VISIBLE_DEVICES, value: all}]
              containers:
                - name: kernel
                  env: [{name: NVIDIA_VISIBLE_DEVICES, value: all}, {name: KEPT, value: "1"}]
            """
        let rendered = try R.render(template: template, env: ["NVIDIA_VISIBLE_DEVICES": "all"])
        let text = String(decoding: try JSONEncoder().encode(rendered.pod.json), as: UTF8.self)
        #expect(!text.contains("NVIDIA_VISIBLE_DEVICES"))
        #expect(R.env(rendered)["KEPT"] == "1")
    }

    @Test func theShippedGPUKernelspecRendersWithoutNvidiaVisibleDevices() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("kernelspecs/python_kubernetes_gpu")
        let json = try JSONValue.parse(Array(try Data(contentsOf: directory.appendingPathComponent("kernel.json"))))
        let spec = try KernelSpec.parse(name: "python_kubernetes_gpu", resourceDirectory: directory.path, json: json)
        let rendered = try KernelPodRenderer(configuration: .init(namespace: "kernels")).render(R.context(spec), key: "k")
        let text = String(decoding: try JSONEncoder().encode(rendered.pod.json), as: UTF8.self)
        #expect(!text.contains("NVIDIA_VISIBLE_DEVICES"))
        let template = try String(contentsOf: directory.appendingPathComponent("pod.yaml"), encoding: .utf8)
        #expect(!template.contains("name: NVIDIA_VISIBLE_DEVICES"))
        #expect(R.container(rendered)[path: "resources", "limits", "nvidia.com/gpu"] == "1")
        #expect(R.container(rendered)[path: "resources", "limits", "memory"] != nil)
    }

    // MARK: Ownership (finding 20)

    @Test func bothObjectsCarryTheLaunchID() throws {
        let first = try R.render(), second = try R.render()
        let podLaunch = first.pod.metadata.annotations[KernelPodLabels.launchAnnotation]
        #expect(podLaunch == first.launchID && first.secret.metadata.annotations[KernelPodLabels.launchAnnotation] == first.launchID)
        #expect(first.launchID != second.launchID, "one id per launch")
    }

    @Test func onlyAnswerlessFailuresAreReadBack() {
        for kind in [KubernetesError.Kind.transport, .timeout, .server, .decoding] {
            #expect(PodLaunch.mayHaveCreated(KubernetesError(kind: kind, message: "x")))
        }
        for kind in [KubernetesError.Kind.alreadyExists, .forbidden, .invalid, .conflict, .tooManyRequests] {
            #expect(!PodLaunch.mayHaveCreated(KubernetesError(kind: kind, message: "x")), "\(kind)")
        }
    }

    @Test func apiErrorTextNeverReachesTheClient() {
        let error = KubernetesError(kind: .forbidden, code: 403, reason: "Forbidden",
                                    message: "pods \"alice-1\" is forbidden: exceeded quota: team-a, requested: cpu=8")
        let short = KubernetesPodProvisioner.shortReason(error)
        #expect(!short.contains("quota") && !short.contains("alice"))
    }
}
