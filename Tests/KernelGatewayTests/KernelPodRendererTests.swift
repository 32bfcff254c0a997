import ElasticJupyterContract
import Foundation
import JupyterProtocol
@testable import KernelGateway
import KubernetesAPI
import Testing

/// `KernelPodRenderer`: the Pod and Secret of a kernel, from the kernelspec's pod template and the request.
@Suite struct KernelPodRendererTests {
    static let kernelID = "0f8fad5b-d9cb-469f-a165-70867728950e"

    // MARK: Fixtures

    /// A kernelspec directory with `pod.yaml` (when given), removed by the caller's `defer`.
    final class SpecDirectory {
        let path: String
        init(template: String?) throws {
            path = NSTemporaryDirectory() + "ej-pod-renderer-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            if let template { try template.write(toFile: path + "/pod.yaml", atomically: true, encoding: .utf8) }
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func spec(_ directory: SpecDirectory, name: String = "pod_python", ours: [String: JSONValue] = [:],
                     argv: [String] = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]) -> KernelSpec {
        var elastic: [String: JSONValue] = ["provisioner": "kubernetes", "image": "python:3.12", "pod_template": "pod.yaml"]
        elastic.merge(ours) { _, new in new }
        return KernelSpec(name: name, resourceDirectory: directory.path, argv: argv, displayName: "Pod", language: "python",
                          interruptMode: .message, metadata: ["elastic_jupyter": .object(elastic)], provisioner: .kubernetes)
    }

    static func context(_ spec: KernelSpec, user: String? = "alice", env: [String: String] = [:]) -> LaunchContext {
        var environment = ["KERNEL_ID": kernelID, "KERNEL_GATEWAY": "1", "PATH": "/usr/bin", "HOME": "/root"]
        if let user { environment["KERNEL_USERNAME"] = user }
        environment.merge(env) { _, new in new }
        return LaunchContext(kernelID: kernelID, spec: spec, environment: environment, workingDirectory: "/tmp", user: user)
    }

    static func render(template: String? = nil, ours: [String: JSONValue] = [:], user: String? = "alice",
                       env: [String: String] = [:],
                       configuration: KubernetesProvisionerConfiguration = .init(namespace: "kernels", gatewayName: "gw-1"))
        throws -> KernelPodRenderer.Rendered {
        let directory = try SpecDirectory(template: template)
        let renderer = KernelPodRenderer(configuration: configuration)
        return try renderer.render(context(spec(directory, ours: ours), user: user, env: env), key: "secret-key")
    }

    static func failure(template: String? = nil, ours: [String: JSONValue] = [:], user: String? = "alice",
                        env: [String: String] = [:],
                        configuration: KubernetesProvisionerConfiguration = .init(namespace: "kernels", gatewayName: "gw-1"))
        throws -> GatewayError? {
        let directory = try SpecDirectory(template: template)
        let renderer = KernelPodRenderer(configuration: configuration)
        do {
            _ = try renderer.render(context(spec(directory, ours: ours), user: user, env: env), key: "secret-key")
            return nil
        } catch {
            return error
        }
    }

    static func isLimit(_ error: GatewayError?) -> Bool { if case .limitReached? = error { return true }; return false }
    static func isInvalid(_ error: GatewayError?) -> Bool { if case .invalidRequest? = error { return true }; return false }

    static func container(_ rendered: KernelPodRenderer.Rendered, _ index: Int = 0) -> KubeJSON {
        rendered.pod.json[path: "spec", "containers"]?[index] ?? .null
    }

    static func env(_ rendered: KernelPodRenderer.Rendered) -> [String: String] {
        var result: [String: String] = [:]
        for entry in container(rendered)["env"]?.arrayValue ?? [] {
            if let name = entry["name"]?.stringValue { result[name] = entry["value"]?.stringValue ?? "<valueFrom>" }
        }
        return result
    }

    /// DNS-1123 label: at most 63 of `[a-z0-9-]`, alphanumeric at both ends.
    static func isDNSLabel(_ name: String) -> Bool {
        guard (1...63).contains(name.count), let first = name.first, let last = name.last else { return false }
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
        return allowed && (first.isLowercase || first.isNumber) && (last.isLowercase || last.isNumber)
    }

    /// A label value: empty, or at most 63 of `[A-Za-z0-9-_.]`, alphanumeric at both ends.
    static func isLabelValue(_ value: String) -> Bool {
        if value.isEmpty { return true }
        guard value.count <= 63, let first = value.first, let last = value.last else { return false }
        let allowed = value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        return allowed && first.isASCII && (first.isLetter || first.isNumber) && last.isASCII && (last.isLetter || last.isNumber)
    }

    // MARK: Pod names

    @Test(arguments: [
        ("alice", "alice"),
        ("Alice.Smith@Example.org", "alice-smith-example-org"),
        ("  spaces  and\ttabs ", "spaces-and-tabs"),
        ("--Weird__Name--", "weird-name"),
        ("émilie", "milie"),
        ("日本語", "kernel"),
        ("---", "kernel"),
        ("", "kernel"),
    ])
    func podNameIsUserDashKernelID(user: String, prefix: String) {
        let name = KernelPodRenderer.podName(user: user, kernelID: Self.kernelID)
        #expect(name == "\(prefix)-\(Self.kernelID)")
        #expect(Self.isDNSLabel(name))
    }

    @Test func podNameWithoutUser() {
        #expect(KernelPodRenderer.podName(user: nil, kernelID: Self.kernelID) == "kernel-\(Self.kernelID)")
    }

    @Test(arguments: [
        String(repeating: "a", count: 200),
        String(repeating: "ab-", count: 40),
        "a" + String(repeating: "-", count: 40) + "b",
        "user.with.dots.and.a.very.long.domain.name@example.org",
        String(repeating: "x", count: 25) + ".tail",
        String(repeating: "Ü", count: 100),
    ])
    func longAndOddUserNamesGiveValidNamesThatKeepTheKernelID(user: String) {
        let name = KernelPodRenderer.podName(user: user, kernelID: Self.kernelID)
        #expect(Self.isDNSLabel(name), "\(name)")
        #expect(name.count <= 63)
        #expect(name.hasSuffix("-" + Self.kernelID))
        #expect(!name.contains("--"))
    }

    @Test func podAndSecretNamesComeFromTheRenderer() throws {
        let rendered = try Self.render(user: "Bob Builder")
        #expect(rendered.podName == "bob-builder-\(Self.kernelID)")
        #expect(rendered.pod.name == rendered.podName)
        #expect(rendered.pod.namespace == "kernels")
        #expect(rendered.secret.name == rendered.podName + "-connection")
        #expect(rendered.secret.namespace == "kernels")
    }

    // MARK: Labels and annotations

    @Test func labelsIdentifyKernelGatewayAndUser() throws {
        let rendered = try Self.render(user: "Alice.Smith@example.org", env: ["KERNEL_NOTEBOOK": "work/Analysis 1.ipynb"])
        let labels = rendered.pod.labels
        #expect(labels["app.kubernetes.io/name"] == "elastic-jupyter")
        #expect(labels["app.kubernetes.io/component"] == "kernel")
        #expect(labels["kernel_id"] == Self.kernelID)
        #expect(labels["component"] == "kernel")
        #expect(labels["app"] == "enterprise-gateway")
        #expect(labels["elastic-jupyter.io/gateway"] == "gw-1")
        #expect(labels["elastic-jupyter.io/user"] == "Alice.Smith-example.org")
        #expect(labels["elastic-jupyter.io/notebook"] == "work-Analysis-1.ipynb")
        for (key, value) in labels { #expect(Self.isLabelValue(value), "\(key)=\(value)") }
        #expect(rendered.secret.labels == labels)
        let annotations = rendered.pod.annotations
        #expect(annotations["elastic-jupyter.io/user"] == "Alice.Smith@example.org")
        #expect(annotations["elastic-jupyter.io/kernelspec"] == "pod_python")
        #expect(annotations["elastic-jupyter.io/connection-secret"] == rendered.secret.name)
    }

    @Test(arguments: [String(repeating: "u", count: 100), "日本語", "-x-", "a b c", "_under_", "end."])
    func labelValuesAreAlwaysValid(user: String) throws {
        let rendered = try Self.render(user: user)
        for (key, value) in rendered.pod.labels { #expect(Self.isLabelValue(value), "\(key)=\(value)") }
        #expect(Self.isLabelValue(KernelPodLabels.labelValue(user)))
    }

    @Test func gatewayNameLabelAndSelectorAgree() throws {
        let configuration = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "My Gateway #2!")
        let rendered = try Self.render(configuration: configuration)
        let value = rendered.pod.labels["elastic-jupyter.io/gateway"]
        #expect(value == "My-Gateway--2")
        #expect(configuration.podSelector == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=My-Gateway--2")
    }

    @Test func theTemplateCannotClaimAnotherKernelOrGateway() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: fixed-name
              generateName: gen-
              namespace: elsewhere
              labels:
                elastic-jupyter.io/gateway: other-gateway
                kernel_id: someone-elses
                app.kubernetes.io/component: not-a-kernel
                team: data-science
            spec:
              containers:
                - name: kernel
            """
        let rendered = try Self.render(template: template)
        #expect(rendered.pod.name == rendered.podName)
        #expect(rendered.pod.metadata.generateName == nil)
        #expect(rendered.pod.namespace == "kernels")
        #expect(rendered.pod.labels["elastic-jupyter.io/gateway"] == "gw-1")
        #expect(rendered.pod.labels["kernel_id"] == Self.kernelID)
        #expect(rendered.pod.labels["app.kubernetes.io/component"] == "kernel")
        #expect(rendered.pod.labels["team"] == "data-science")
    }

    // MARK: Placeholders

    @Test func placeholdersAreReplacedInStringValues() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              annotations:
                who: "{{ kernel_username }} runs {{kernel_id}} of {{ kernel_name }}"
                where: "{{ kernel_namespace }}/{{ kernel_pod_name }}"
            spec:
              containers:
                - name: kernel
                  image: "{{ kernel_image }}"
                  env:
                    - name: FROM_TEMPLATE
                      value: "{{ kernel_id }}"
                  args: ["{{ kernel_id }}"]
              nodeSelector:
                pool: "gpu-{{ kernel_username }}"
            """
        let rendered = try Self.render(template: template)
        #expect(rendered.pod.annotations["who"] == "alice runs \(Self.kernelID) of pod_python")
        #expect(rendered.pod.annotations["where"] == "kernels/\(rendered.podName)")
        #expect(rendered.pod.json[path: "spec", "nodeSelector", "pool"]?.stringValue == "gpu-alice")
        #expect(Self.env(rendered)["FROM_TEMPLATE"] == Self.kernelID)
        #expect(Self.container(rendered)["image"]?.stringValue == "python:3.12")
    }

    @Test func placeholdersInKeysAreNotReplaced() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              annotations:
                "{{ kernel_username }}": "value"
            spec:
              nodeSelector:
                "{{ kernel_id }}": "x"
              containers:
                - name: kernel
            """
        let rendered = try Self.render(template: template)
        #expect(rendered.pod.annotations["{{ kernel_username }}"] == "value")
        #expect(rendered.pod.annotations["alice"] == nil)
        #expect(rendered.pod.json[path: "spec", "nodeSelector", "{{ kernel_id }}"]?.stringValue == "x")
    }

    @Test func aValueCannotChangeTheStructure() throws {
        // YAML and JSON syntax in a user name stays text: the template is parsed before substitution.
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              annotations:
                owner: "{{ kernel_username }}"
            spec:
              containers:
                - name: kernel
                  env:
                    - name: OWNER
                      value: "{{ kernel_username }}"
            """
        let user = "x\"\nspec:\n  hostNetwork: true\n  \"privileged\": {\"a\": [1]}"
        let rendered = try Self.render(template: template, user: user)
        #expect(rendered.pod.annotations["owner"] == user)
        #expect(Self.env(rendered)["OWNER"] == user)
        #expect(rendered.pod.json[path: "spec", "hostNetwork"] == nil)
        #expect(rendered.pod.json[path: "spec", "privileged"] == nil)
    }

    /// Substitution must be one pass: text that came in through one variable is not scanned again for
    /// placeholders (a request's user name or working directory is client text).
    @Test func substitutedTextIsNotSubstitutedAgain() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              annotations:
                both: "{{ kernel_username }}|{{ kernel_working_dir }}"
            spec:
              containers:
                - name: kernel
            """
        let rendered = try Self.render(template: template, user: "{{ kernel_working_dir }}",
                                       env: ["KERNEL_WORKING_DIR": "{{ kernel_username }}"])
        #expect(rendered.pod.annotations["both"] == "{{ kernel_working_dir }}|{{ kernel_username }}")
    }

    /// YAML scalars keep their types: an unquoted number is a number (a real API server answers 400 to
    /// `terminationGracePeriodSeconds: "10"`, and the shipped kernelspecs' templates set it), a quoted one is a
    /// string (env values must be strings).
    @Test func templateNumbersStayNumbersAndQuotedNumbersStayStrings() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              terminationGracePeriodSeconds: 10
              activeDeadlineSeconds: 86400
              priority: 0
              tolerations:
                - {key: gpu, operator: Exists, effect: NoSchedule, tolerationSeconds: 300}
              containers:
                - name: kernel
                  env:
                    - {name: QUOTED, value: "10"}
                    - {name: SINGLE, value: '2.5'}
                    - {name: FLAG, value: "true"}
            """
        let spec = try Self.render(template: template).pod.json[path: "spec"] ?? .null
        #expect(spec["terminationGracePeriodSeconds"] == .int(10))
        #expect(spec["activeDeadlineSeconds"] == .int(86400))
        #expect(spec["priority"] == .int(0))
        #expect(spec["tolerations"]?[0]?["tolerationSeconds"] == .int(300))
        let env = try Self.render(template: template)
        #expect(Self.env(env)["QUOTED"] == "10")
        #expect(Self.env(env)["SINGLE"] == "2.5")
        #expect(Self.env(env)["FLAG"] == "true")
    }

    @Test func shippedKernelspecTemplatesKeepTheirTypes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("kernelspecs")
        for name in ["python_kubernetes", "python_kubernetes_gpu"] {
            let directory = root.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: directory + "/pod.yaml") else { continue }
            let spec = KernelSpec(name: name, resourceDirectory: directory, argv: ["python"], displayName: name, language: "python",
                                  metadata: ["elastic_jupyter": ["provisioner": "kubernetes", "image": "python:3.12", "pod_template": "pod.yaml"]],
                                  provisioner: .kubernetes)
            let rendered = try KernelPodRenderer(configuration: .init(namespace: "kernels")).render(Self.context(spec), key: "k")
            let grace = rendered.pod.json[path: "spec", "terminationGracePeriodSeconds"]
            #expect(grace == .int(10), "\(name): terminationGracePeriodSeconds = \(String(describing: grace))")
        }
    }

    @Test func unknownPlaceholdersStayAsWritten() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            metadata:
              annotations:
                a: "{{ not_a_variable }} {{kernel_id }}"
            spec:
              containers:
                - name: kernel
            """
        let rendered = try Self.render(template: template)
        #expect(rendered.pod.annotations["a"] == "{{ not_a_variable }} {{kernel_id }}")
    }

    @Test func aMissingOrEscapingTemplateFallsBackToTheDefaults() throws {
        let rendered = try Self.render(template: nil)
        #expect(Self.container(rendered)["name"]?.stringValue == "kernel")
        #expect(Self.container(rendered)["image"]?.stringValue == "python:3.12")
        // `sub/../pod.yaml` is the template itself, but a path with `..` is never read
        let template = "apiVersion: v1\nkind: Pod\nmetadata: {annotations: {x: y}}\n"
        #expect(try Self.render(template: template).pod.annotations["x"] == "y")
        let escaping = try Self.render(template: template, ours: ["pod_template": "sub/../pod.yaml"])
        #expect(escaping.pod.annotations["x"] == nil)
    }

    @Test func anInvalidTemplateFailsTheLaunch() throws {
        let error = try Self.failure(template: "apiVersion: v1\nkind: Pod\nspec: [unclosed\n")
        guard case .launchFailed(.provisioner(let text))? = error else {
            Issue.record("expected launchFailed, got \(String(describing: error))")
            return
        }
        #expect(text.contains("pod_python"))
    }

    // MARK: Command, connection file, environment

    @Test func commandIsTheSupervisorLoopAroundTheKernelArgv() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              containers:
                - name: something-else
                  command: ["/bin/evil"]
                  args: ["--evil"]
                  ports: [{containerPort: 1, name: evil}]
            """
        let rendered = try Self.render(template: template)
        let c = Self.container(rendered)
        #expect(c["name"]?.stringValue == "kernel")
        #expect(c["command"] == ["/bin/sh", "-c", .string(KernelPodRenderer.supervisorScript), "ej-kernel",
                                 "python", "-m", "ipykernel_launcher", "-f", "/etc/jupyter-kernel/connection.json"])
        #expect(c["args"] == nil)
        let ports = (c["ports"]?.arrayValue ?? []).compactMap { $0["containerPort"]?.intValue }
        #expect(ports == [52700, 52701, 52702, 52703, 52704])
    }

    @Test func theConnectionFileIsASecretMountedReadOnly() throws {
        let rendered = try Self.render()
        #expect(rendered.secret.kind == "Secret")
        #expect(rendered.secret["type"]?.stringValue == "Opaque")
        let encoded = try #require(rendered.secret[path: "data", "connection.json"]?.stringValue)
        let data = try #require(Data(base64Encoded: encoded))
        let info = try JSONDecoder().decode(ConnectionInfo.self, from: data)
        #expect(info.ip == "0.0.0.0")
        #expect(info.key == "secret-key")
        #expect(info.transport == "tcp")
        #expect(info.signatureScheme == "hmac-sha256")
        let ports: [Int] = [info.shellPort, info.iopubPort, info.stdinPort, info.controlPort, info.hbPort]
        #expect(ports == [52700, 52701, 52702, 52703, 52704])
        #expect(rendered.connectionInfo == info)
        let volumes = rendered.pod.json[path: "spec", "volumes"]?.arrayValue ?? []
        let volume = try #require(volumes.first { $0["name"]?.stringValue == "kernel-connection" })
        #expect(volume[path: "secret", "secretName"]?.stringValue == rendered.secret.name)
        let mounts = Self.container(rendered)["volumeMounts"]?.arrayValue ?? []
        let mount = try #require(mounts.first { $0["name"]?.stringValue == "kernel-connection" })
        #expect(mount["mountPath"]?.stringValue == "/etc/jupyter-kernel")
        #expect(mount["readOnly"]?.boolValue == true)
    }

    @Test func environmentCarriesTheKernelVariablesButNotTheGatewaysLocalOnes() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              containers:
                - name: kernel
                  env:
                    - {name: KERNEL_ID, value: forged}
                    - {name: FROM_TEMPLATE, value: kept}
            """
        let rendered = try Self.render(template: template, env: ["KERNEL_EXTRA": "x", "LANG": "C.UTF-8"])
        let env = Self.env(rendered)
        #expect(env["KERNEL_ID"] == Self.kernelID)
        #expect(env["KERNEL_USERNAME"] == "alice")
        #expect(env["KERNEL_EXTRA"] == "x")
        #expect(env["FROM_TEMPLATE"] == "kept")
        #expect(env["KERNEL_POD_NAME"] == rendered.podName)
        #expect(env["KERNEL_NAMESPACE"] == "kernels")
        for local in ["PATH", "HOME", "LANG"] { #expect(env[local] == nil, "\(local)") }
        let names = (Self.container(rendered)["env"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        #expect(names.count == Set(names).count, "duplicate env names: \(names)")
    }

    // MARK: Image

    @Test func imageChoice() throws {
        // By default only the kernelspec's own image (finding 14).
        #expect(Self.isInvalid(try Self.failure(env: ["KERNEL_IMAGE": "registry.example/custom:2"])))
        #expect(Self.container(try Self.render(env: ["KERNEL_IMAGE": "python:3.12"]))["image"]?.stringValue == "python:3.12")
        var allowing = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        allowing.allowedImages = ["registry.example/*"]
        #expect(Self.container(try Self.render(env: ["KERNEL_IMAGE": "registry.example/custom:2"], configuration: allowing))["image"]?.stringValue
            == "registry.example/custom:2")
        #expect(Self.isInvalid(try Self.failure(env: ["KERNEL_IMAGE": "registry.example.evil/x:1"], configuration: allowing)))
        #expect(Self.isInvalid(try Self.failure(env: ["KERNEL_IMAGE": "bad image"], configuration: allowing)))
        #expect(Self.isInvalid(try Self.failure(env: ["KERNEL_IMAGE": "registry.example/" + String(repeating: "a", count: 600)],
                                                configuration: allowing)))
    }

    @Test func imageFromProcessProxyConfigOrTheGatewayDefault() throws {
        let directory = try SpecDirectory(template: nil)
        let eg = KernelSpec(name: "eg", resourceDirectory: directory.path, argv: ["python"], displayName: "EG", language: "python",
                            metadata: ["process_proxy": ["class_name": "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy",
                                                         "config": ["image_name": "elyra/kernel-py:3.2.3"]]],
                            provisioner: .kubernetes)
        let renderer = KernelPodRenderer(configuration: .init(namespace: "kernels", defaultImage: "fallback:1"))
        let rendered = try renderer.render(Self.context(eg), key: "k")
        #expect(Self.container(rendered)["image"]?.stringValue == "elyra/kernel-py:3.2.3")
        let bare = KernelSpec(name: "bare", resourceDirectory: directory.path, argv: ["python"], displayName: "B", language: "python",
                              metadata: ["elastic_jupyter": ["provisioner": "kubernetes"]], provisioner: .kubernetes)
        #expect(Self.container(try renderer.render(Self.context(bare), key: "k"))["image"]?.stringValue == "fallback:1")
        let none = KernelPodRenderer(configuration: .init(namespace: "kernels"))
        do {
            _ = try none.render(Self.context(bare), key: "k")
            Issue.record("a kernelspec without any image must be refused")
        } catch {
            #expect(Self.isInvalid(error))
        }
    }

    // MARK: Security

    static func expectRestricted(_ rendered: KernelPodRenderer.Rendered, uid: Int = 1000, gid: Int = 100) {
        let spec = rendered.pod.json[path: "spec"] ?? .null
        #expect(spec["automountServiceAccountToken"] == false)
        #expect(spec["serviceAccountName"]?.stringValue == "elastic-jupyter-kernel")
        #expect(spec["restartPolicy"]?.stringValue == "Never")
        #expect(spec["enableServiceLinks"] == false)
        let pod = spec["securityContext"] ?? .null
        #expect(pod["runAsNonRoot"] == true)
        #expect(pod["runAsUser"]?.intValue == uid)
        #expect(pod["runAsGroup"]?.intValue == gid)
        #expect(pod["fsGroup"]?.intValue == gid)
        #expect(pod[path: "seccompProfile", "type"]?.stringValue == "RuntimeDefault")
        let container = Self.container(rendered)["securityContext"] ?? .null
        #expect(container["allowPrivilegeEscalation"] == false)
        #expect(container["privileged"] == false)
        #expect(container["runAsNonRoot"] == true)
        #expect(container["capabilities"] == ["drop": ["ALL"]])
        #expect(container[path: "seccompProfile", "type"]?.stringValue == "RuntimeDefault")
    }

    @Test func renderedPodsHaveTheRestrictedProfileFields() throws {
        Self.expectRestricted(try Self.render())
        Self.expectRestricted(try Self.render(env: ["KERNEL_UID": "1234", "KERNEL_GID": "4321"]), uid: 1234, gid: 4321)
    }

    @Test func theTemplateCannotOverrideTheSecurityFields() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              restartPolicy: Always
              serviceAccountName: cluster-admin
              automountServiceAccountToken: true
              enableServiceLinks: true
              securityContext:
                runAsNonRoot: false
                runAsUser: 0
                runAsGroup: 0
                fsGroup: 0
                seccompProfile: {type: Unconfined}
              containers:
                - name: kernel
                  securityContext:
                    privileged: true
                    allowPrivilegeEscalation: true
                    runAsNonRoot: false
                    capabilities: {add: [SYS_ADMIN, NET_ADMIN]}
                    seccompProfile: {type: Unconfined}
            """
        Self.expectRestricted(try Self.render(template: template))
    }

    @Test func theTemplateCannotRunTheKernelOnTheHostsNamespaces() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              hostNetwork: true
              hostPID: true
              hostIPC: true
              containers:
                - name: kernel
            """
        let spec = try Self.render(template: template).pod.json[path: "spec"] ?? .null
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            #expect(spec[field] == nil || spec[field] == false, "\(field) = \(String(describing: spec[field]))")
        }
    }

    @Test func everyContainerOfTheTemplateGetsTheRestrictedSecurityContext() throws {
        let template = """
            apiVersion: v1
            kind: Pod
            spec:
              initContainers:
                - name: setup
                  image: busybox
                  securityContext: {privileged: true}
              containers:
                - name: kernel
                - name: sidecar
                  image: busybox
                  securityContext: {privileged: true, capabilities: {add: [SYS_ADMIN]}}
            """
        let spec = try Self.render(template: template).pod.json[path: "spec"] ?? .null
        let all = (spec["initContainers"]?.arrayValue ?? []) + (spec["containers"]?.arrayValue ?? [])
        #expect(all.count == 3)
        for container in all {
            let name = container["name"]?.stringValue ?? "?"
            let context = container["securityContext"] ?? .null
            #expect(context["privileged"] != true, "\(name) is privileged")
            #expect(context["allowPrivilegeEscalation"] == false, "\(name)")
            #expect(context["capabilities"] == ["drop": ["ALL"]], "\(name)")
        }
    }

    @Test(arguments: ["0", "00", "+0"])
    func uidZeroIsRefused(uid: String) throws {
        #expect(Self.isLimit(try Self.failure(env: ["KERNEL_UID": uid])))
    }

    @Test func gidZeroIsRefused() throws {
        #expect(Self.isLimit(try Self.failure(env: ["KERNEL_GID": "0"])))
    }

    @Test(arguments: ["root", "-1", "1.5", "", "2147483648", "99999999999999999999"])
    func malformedIDsAreInvalid(uid: String) throws {
        #expect(Self.isInvalid(try Self.failure(env: ["KERNEL_UID": uid])), "\(uid)")
    }

    @Test func aDefaultUIDOfZeroIsRefusedToo() throws {
        var configuration = KubernetesProvisionerConfiguration(namespace: "kernels")
        configuration.defaultUID = 0
        #expect(Self.isLimit(try Self.failure(configuration: configuration)))
    }

    // MARK: Resources

    static let bounded: [String: JSONValue] = ["max_cpus": "4", "max_memory": "8Gi", "max_gpus": 1]

    @Test func resourcesWithinTheBoundsAreRequested() throws {
        let rendered = try Self.render(ours: Self.bounded, env: ["KERNEL_CPUS": "1500m", "KERNEL_MEMORY": "2Gi",
                                                                 "KERNEL_GPUS": "1", "KERNEL_MEMORY_LIMIT": "8Gi"])
        #expect(Self.container(rendered)["resources"] == [
            "requests": ["cpu": "1500m", "memory": "2Gi", "nvidia.com/gpu": "1"],
            "limits": ["cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"],
        ], "the gateway's default CPU limit fills in the one not requested")
    }

    @Test func kernelspecDefaultsApplyWithoutARequest() throws {
        let rendered = try Self.render(ours: ["resources": ["cpus": "500m", "memory": "1Gi"], "max_cpus": "2"])
        #expect(Self.container(rendered)["resources"] == [
            "requests": ["cpu": "500m", "memory": "1Gi"], "limits": ["cpu": "2", "memory": "2Gi"],
        ], "default limits (finding 12), the CPU one capped at max_cpus")
        #expect(Self.container(try Self.render())["resources"] == ["limits": ["cpu": "2", "memory": "2Gi"]])
        var unlimited = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        (unlimited.defaultCPULimit, unlimited.defaultMemoryLimit) = (nil, nil)
        #expect(Self.container(try Self.render(configuration: unlimited))["resources"] == nil)
    }

    @Test(arguments: [
        ("KERNEL_CPUS", "4001m"), ("KERNEL_CPUS", "5"), ("KERNEL_MEMORY", "9Gi"), ("KERNEL_MEMORY", "8589934593"),
        ("KERNEL_GPUS", "2"), ("KERNEL_CPUS_LIMIT", "4.5"), ("KERNEL_MEMORY_LIMIT", "1Ti"), ("KERNEL_GPUS_LIMIT", "2"),
    ])
    func resourcesAboveTheBoundsAreRefused(variable: String, value: String) throws {
        let error = try Self.failure(ours: Self.bounded, env: [variable: value])
        #expect(Self.isLimit(error), "\(variable)=\(value): \(String(describing: error))")
    }

    @Test func exactlyTheBoundIsAllowed() throws {
        let rendered = try Self.render(ours: Self.bounded, env: ["KERNEL_CPUS": "4", "KERNEL_MEMORY": "8Gi", "KERNEL_GPUS": "1"])
        #expect(Self.container(rendered)[path: "resources", "requests", "cpu"]?.stringValue == "4")
    }

    @Test func gpusAreRefusedWhenTheKernelspecAllowsNone() throws {
        #expect(Self.isLimit(try Self.failure(ours: ["max_gpus": 0], env: ["KERNEL_GPUS": "1"])))
    }

    @Test(arguments: ["lots", "-1", "1.5.5", "Gi", "1Zi", "nan", "inf"])
    func malformedQuantitiesAreInvalid(value: String) throws {
        let error = try Self.failure(ours: Self.bounded, env: ["KERNEL_CPUS": value])
        #expect(Self.isInvalid(error) || Self.isLimit(error), "\(value): \(String(describing: error))")
        #expect(!Self.isLimit(error) || value == "inf", "\(value) should be malformed, not too large")
    }

    /// What the renderer accepts it puts into the pod as written, so it must be a quantity the API server
    /// accepts (`^[+-]?[0-9.]+([eEinumkKMGTP]*[-+]?[0-9]*)$`); otherwise the client gets a 503 from a 422
    /// instead of a 400.
    @Test(arguments: ["0x10", " 2", "2 ", "1e3x"])
    func quantitiesTheAPIServerWouldRejectAreRefused(value: String) throws {
        let error = try Self.failure(env: ["KERNEL_CPUS": value])
        #expect(Self.isInvalid(error), "\(value.debugDescription) was accepted: \(String(describing: error))")
    }

    @Test(arguments: [("500m", 0.5), ("2", 2.0), ("1Gi", 1_073_741_824.0), ("512Mi", 536_870_912.0), ("1G", 1e9), ("1.5", 1.5), ("100k", 1e5)])
    func quantityParsing(text: String, value: Double) throws {
        let parsed = try #require(Quantity.amount(text))
        #expect(abs(parsed - value) <= value * 1e-12)
    }

    // MARK: Volumes

    static let volumeSpec: [String: JSONValue] = ["allowed_volumes": [
        ["name": "datasets", "persistentVolumeClaim": ["claimName": "datasets", "readOnly": true]],
        ["name": "scratch", "emptyDir": ["sizeLimit": "1Gi"]],
    ]]

    @Test func allowedVolumesUseTheAdministratorsDefinition() throws {
        let rendered = try Self.render(ours: Self.volumeSpec, env: [
            "KERNEL_VOLUMES": #"[{"name": "datasets", "hostPath": {"path": "/"}}]"#,
            "KERNEL_VOLUME_MOUNTS": #"[{"name": "datasets", "mountPath": "/data", "readOnly": true}]"#,
        ])
        let volumes = rendered.pod.json[path: "spec", "volumes"]?.arrayValue ?? []
        let datasets = try #require(volumes.first { $0["name"]?.stringValue == "datasets" })
        #expect(datasets["hostPath"] == nil)
        #expect(datasets[path: "persistentVolumeClaim", "claimName"]?.stringValue == "datasets")
        let mounts = Self.container(rendered)["volumeMounts"]?.arrayValue ?? []
        #expect(mounts.contains(["name": "datasets", "mountPath": "/data", "readOnly": true]))
    }

    @Test func yamlListsAreAcceptedToo() throws {
        let rendered = try Self.render(ours: Self.volumeSpec, env: [
            "KERNEL_VOLUMES": "- name: scratch\n",
            "KERNEL_VOLUME_MOUNTS": "- {name: scratch, mountPath: /scratch}\n",
        ])
        let volumes = rendered.pod.json[path: "spec", "volumes"]?.arrayValue ?? []
        #expect(volumes.contains(["name": "scratch", "emptyDir": ["sizeLimit": "1Gi"]]))
    }

    @Test func volumesOutsideTheAllowListAreRefused() throws {
        let error = try Self.failure(ours: Self.volumeSpec, env: [
            "KERNEL_VOLUMES": #"[{"name": "host-root", "hostPath": {"path": "/"}}]"#,
        ])
        #expect(Self.isLimit(error))
        #expect(Self.isLimit(try Self.failure(env: ["KERNEL_VOLUMES": #"[{"name": "datasets"}]"#])))
    }

    /// The gateway's allow-list of volume names must not let the client define the volume: the doc comment of
    /// `selectVolumes` says "the definitions always come from the administrator, never from the client".
    @Test func aGatewayAllowedVolumeNameDoesNotLetTheClientDefineTheVolume() throws {
        var configuration = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        configuration.allowedVolumeNames = ["scratch"]
        let directory = try SpecDirectory(template: nil)
        let renderer = KernelPodRenderer(configuration: configuration)
        let context = Self.context(Self.spec(directory), env: [
            "KERNEL_VOLUMES": #"[{"name": "scratch", "hostPath": {"path": "/", "type": "Directory"}}]"#,
            "KERNEL_VOLUME_MOUNTS": #"[{"name": "scratch", "mountPath": "/host"}]"#,
        ])
        let result: KernelPodRenderer.Rendered
        do {
            result = try renderer.render(context, key: "k")
        } catch {
            return  // refusing is fine
        }
        let volumes = result.pod.json[path: "spec", "volumes"]?.arrayValue ?? []
        let scratch = volumes.first { $0["name"]?.stringValue == "scratch" }
        #expect(scratch?["hostPath"] == nil, "the client mounted the node's root: \(String(describing: scratch))")
    }

    @Test(arguments: [
        #"[{"name": "scratch", "mountPath": "relative"}]"#,
        #"[{"name": "scratch"}]"#,
        #"[{"name": "unrequested", "mountPath": "/x"}]"#,
        #"[{"name": "scratch", "mountPath": "/etc/jupyter-kernel"}]"#,
        #"[{"name": "scratch", "mountPath": "/etc/jupyter-kernel/connection.json"}]"#,
        #"{"name": "scratch"}"#,
        "not: [valid",
    ])
    func badVolumeMountsAreInvalid(mounts: String) throws {
        let error = try Self.failure(ours: Self.volumeSpec, env: ["KERNEL_VOLUMES": #"[{"name": "scratch"}]"#,
                                                                  "KERNEL_VOLUME_MOUNTS": mounts])
        #expect(Self.isInvalid(error), "\(mounts): \(String(describing: error))")
    }

    @Test func workspaceClaimAndWorkingDirectory() throws {
        var configuration = KubernetesProvisionerConfiguration(namespace: "kernels", gatewayName: "gw-1")
        configuration.workspaceClaim = "notebooks"
        let inside = try Self.render(env: ["KERNEL_WORKING_DIR": "/home/jovyan/work/project"], configuration: configuration)
        #expect(Self.container(inside)["workingDir"]?.stringValue == "/home/jovyan/work/project")
        let volumes = inside.pod.json[path: "spec", "volumes"]?.arrayValue ?? []
        #expect(volumes.contains(["name": "workspace", "persistentVolumeClaim": ["claimName": "notebooks"]]))
        let outside = try Self.render(env: ["KERNEL_WORKING_DIR": "/etc"], configuration: configuration)
        #expect(Self.container(outside)["workingDir"] == nil)
        let sibling = try Self.render(env: ["KERNEL_WORKING_DIR": "/home/jovyan/workshop"], configuration: configuration)
        #expect(Self.container(sibling)["workingDir"] == nil)
        let noClaim = try Self.render(env: ["KERNEL_WORKING_DIR": "/home/jovyan/work/project"])
        #expect(Self.container(noClaim)["workingDir"] == nil)
    }
}
