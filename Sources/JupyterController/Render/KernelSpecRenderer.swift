import ElasticJupyterContract
import Foundation
import KubernetesAPI

/// One kernelspec as files for the gateway: `kernel.json` and, optionally, the kernel pod template.
public struct KernelSpecFiles: Sendable, Hashable {
    /// Kernelspec name (the directory name).
    public var name: String
    /// `kernel.json`.
    public var kernelJSON: KubeJSON
    /// The kernel pod template (a Pod, written as JSON, which is YAML), if any.
    public var podTemplate: KubeJSON?
    /// The launcher logo (a resource file of the kernelspec directory), if any.
    public var logo: KernelSpecLogo?

    /// File name of the pod template inside the kernelspec directory.
    public static let podTemplateFile = KernelSpecMetadata.defaultPodTemplate
}

/// Renders kernelspecs (built-in, or from JupyterKernelSpec + JupyterKernelTemplate) into the files the
/// gateway reads, and those files into a ConfigMap with one directory per kernelspec.
public enum KernelSpecRenderer {
    /// EG's Kubernetes process proxy class: our gateway runs such kernels as pods.
    public static let kubernetesProcessProxy = "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy"
    /// The default kernel command: ipykernel with the connection file the gateway mounts.
    public static let defaultArgv = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]

    /// The built-in `python_kubernetes` kernelspec (as the gateway image ships it, with the controller's
    /// kernel image): interrupts by message (a signal cannot reach another pod), writable runtime directories.
    /// - Parameter image: Kernel image.
    public static func builtIn(image: String) -> KernelSpecFiles {
        let kernel: KubeJSON = [
            "argv": KubeJSON(defaultArgv),
            "display_name": "Python on Kubernetes",
            "language": "python",
            "interrupt_mode": "message",
            "metadata": [
                "process_proxy": ["class_name": .string(kubernetesProcessProxy), "config": ["image_name": .string(image)]],
                KernelSpecMetadata.section: [
                    KernelSpecMetadata.provisioner: .string(KernelSpecMetadata.kubernetesProvisioner), KernelSpecMetadata.image: .string(image),
                    KernelSpecMetadata.podTemplate: .string(KernelSpecFiles.podTemplateFile),
                    KernelSpecMetadata.resources: [KernelSpecMetadata.cpus: "500m", KernelSpecMetadata.memory: "1Gi"],
                    KernelSpecMetadata.maxCPUs: "8", KernelSpecMetadata.maxMemory: "32Gi", KernelSpecMetadata.maxGPUs: "0",
                ],
            ],
        ]
        let pod: KubeJSON = [
            "apiVersion": "v1", "kind": "Pod", "metadata": .emptyObject,
            "spec": [
                "terminationGracePeriodSeconds": 10,
                "containers": [[
                    "name": "kernel",
                    "env": [
                        ["name": "JUPYTER_RUNTIME_DIR", "value": "/tmp/jupyter-runtime"],
                        ["name": "IPYTHONDIR", "value": "/tmp/ipython"],
                    ],
                ]],
            ],
        ]
        return KernelSpecFiles(name: JupyterGatewaySpec.builtInKernel, kernelJSON: kernel, podTemplate: pod)
    }

    /// A JupyterKernelSpec as files.
    /// - Parameters:
    ///   - kernelSpec: The JupyterKernelSpec.
    ///   - template: Its JupyterKernelTemplate, when it names one that exists.
    ///   - defaultImage: Image when the kernelspec names none.
    ///   - policy: The gateway's kernel policy, whose maxima bound what a client may ask for when the kernelspec
    ///     names no maximum.
    public static func render(_ kernelSpec: JupyterKernelSpec, template: KubeObject?, defaultImage: String,
                              policy: KernelPolicy = KernelPolicy()) -> KernelSpecFiles {
        let spec = kernelSpec.spec
        let image = nonEmpty(spec.image) ?? defaultImage
        var literalEnv: [String: KubeJSON] = [:]
        var podEnv: [KubeJSON] = []
        for entry in spec.env ?? [] {
            guard let name = entry["name"]?.stringValue else { continue }
            if entry["valueFrom"] != nil {
                podEnv.append(entry)
            } else {
                literalEnv[name] = .string(entry["value"]?.stringValue ?? "")
            }
        }
        let className = processProxyClass(spec.className)
        var config: [String: KubeJSON] = ["image_name": .string(image)]
        if let users = spec.authorizedUsers, !users.isEmpty { config["authorized_users"] = .string(users.joined(separator: ",")) }
        if let users = spec.unauthorizedUsers, !users.isEmpty { config["unauthorized_users"] = .string(users.joined(separator: ",")) }

        var ours: [String: KubeJSON] = [KernelSpecMetadata.image: .string(image)]
        if !className.hasSuffix("LocalProcessProxy") { ours[KernelSpecMetadata.provisioner] = .string(KernelSpecMetadata.kubernetesProvisioner) }
        ours.merge(resourceMetadata(spec, policy: policy)) { _, new in new }
        let pod = podTemplate(from: template, extraEnv: podEnv, pullPolicy: nonEmpty(spec.imagePullPolicy), profile: spec)
        if pod != nil { ours[KernelSpecMetadata.podTemplate] = .string(KernelSpecFiles.podTemplateFile) }
        if let cull = spec.cull {
            if let value = cull.idleTimeout { ours[KernelSpecMetadata.cullIdleTimeout] = .int(Int64(value)) }
            if let value = cull.connected { ours[KernelSpecMetadata.cullConnected] = .bool(value) }
            if let value = cull.busy { ours[KernelSpecMetadata.cullBusy] = .bool(value) }
            if let value = cull.maxAge { ours[KernelSpecMetadata.cullMaxAge] = .int(Int64(value)) }
        }

        var kernel: KubeJSON = [
            "argv": KubeJSON((spec.command?.isEmpty ?? true) ? defaultArgv : spec.command!),
            "display_name": .string(nonEmpty(spec.displayName) ?? kernelSpec.name),
            "language": .string(nonEmpty(spec.language) ?? "python"),
            "metadata": [
                "process_proxy": ["class_name": .string(className), "config": .object(config)],
                KernelSpecMetadata.section: .object(ours),
            ],
        ]
        if !literalEnv.isEmpty { kernel["env"] = .object(literalEnv) }
        // A kernel pod cannot be signalled by the gateway: interrupt by message unless told otherwise.
        kernel["interrupt_mode"] = .string(nonEmpty(spec.interruptMode) ?? (ours[KernelSpecMetadata.provisioner] == nil ? "signal" : "message"))
        var files = KernelSpecFiles(name: kernelSpec.name, kernelJSON: kernel, podTemplate: pod)
        files.logo = spec.logo.flatMap { try? KernelSpecLogo($0) }
        return files
    }

    /// EG's process proxy classes (and the Kubeflow fork's) all mean "a kernel pod" to our gateway; only a
    /// local process proxy keeps its meaning.
    static func processProxyClass(_ name: String?) -> String {
        guard let name = nonEmpty(name) else { return kubernetesProcessProxy }
        if name.hasSuffix("LocalProcessProxy") || name.hasSuffix("KubernetesProcessProxy") { return name }
        return kubernetesProcessProxy
    }

    /// A Pod from a JupyterKernelTemplate's `spec.template`, plus kernelspec extras on the first container and
    /// the profile's scheduling fields (``schedule(_:spec:)``).
    static func podTemplate(from template: KubeObject?, extraEnv: [KubeJSON], pullPolicy: String?,
                            profile: JupyterKernelSpecSpec = JupyterKernelSpecSpec()) -> KubeJSON? {
        let source = template?[path: "spec", "template"]
        guard source != nil || !extraEnv.isEmpty || pullPolicy != nil || hasScheduling(profile) else { return nil }
        var pod: KubeJSON = ["apiVersion": "v1", "kind": "Pod"]
        var metadata: KubeJSON = .emptyObject
        if let labels = source?[path: "metadata", "labels"], labels.objectValue?.isEmpty == false { metadata["labels"] = labels }
        if let notes = source?[path: "metadata", "annotations"], notes.objectValue?.isEmpty == false { metadata["annotations"] = notes }
        pod["metadata"] = metadata
        var spec = source?["spec"] ?? .emptyObject
        var containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { containers = [["name": "kernel"]] }
        var first = containers[0]
        if !extraEnv.isEmpty {
            let names = Set(extraEnv.compactMap { $0["name"]?.stringValue })
            let kept = (first["env"]?.arrayValue ?? []).filter { !names.contains($0["name"]?.stringValue ?? "") }
            first["env"] = .array(kept + extraEnv)
        }
        if let pullPolicy { first["imagePullPolicy"] = .string(pullPolicy) }
        containers[0] = first
        spec["containers"] = .array(containers)
        pod["spec"] = schedule(spec, spec: profile)
        return pod
    }

    /// ConfigMap `data`, `binaryData` and the volume `items` that lay it out as `<name>/kernel.json`
    /// (+ `<name>/pod.yaml`, + the logo `<name>/logo-64x64.png` or `<name>/logo-svg.svg`).
    /// - Parameter files: The kernelspecs.
    /// - Returns: Data and binary data (base64; sorted keys) and volume items (sorted by kernelspec, then file).
    public static func configMapLayout(_ files: [KernelSpecFiles]) -> (data: [String: String], binaryData: [String: String], items: [KubeJSON]) {
        var data: [String: String] = [:]
        var binaryData: [String: String] = [:]
        var items: [KubeJSON] = []
        for file in files.sorted(by: { $0.name < $1.name }) {
            data["\(file.name).kernel.json"] = CanonicalJSON.text(file.kernelJSON, pretty: true)
            items.append(["key": .string("\(file.name).kernel.json"), "path": .string("\(file.name)/kernel.json")])
            if let pod = file.podTemplate {
                data["\(file.name).\(KernelSpecFiles.podTemplateFile)"] = CanonicalJSON.text(pod, pretty: true)
                items.append([
                    "key": .string("\(file.name).\(KernelSpecFiles.podTemplateFile)"),
                    "path": .string("\(file.name)/\(KernelSpecFiles.podTemplateFile)"),
                ])
            }
            if let logo = file.logo {
                binaryData["\(file.name).\(logo.fileName)"] = logo.bytes.base64EncodedString()
                items.append(["key": .string("\(file.name).\(logo.fileName)"), "path": .string("\(file.name)/\(logo.fileName)")])
            }
        }
        return (data, binaryData, items)
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
