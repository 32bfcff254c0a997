import ElasticJupyterContract
import Foundation
import JupyterProtocol
import KubernetesAPI
import Yams

/// Renders a kernel's Secret (its connection file) and Pod from the kernelspec's pod template and the
/// kernel's variables. Pure: no API calls, so it is unit-tested and its output validated offline.
///
/// The template (`metadata.elastic_jupyter.pod_template`, a YAML file in the kernelspec directory) is
/// parsed first and `{{ variable }}` placeholders are then replaced inside string values only, so a
/// variable can never change the structure of the pod. Security fields, labels, the connection-file
/// mount and the kernel command are then set by the gateway and cannot be overridden by the template.
public struct KernelPodRenderer: Sendable {
    /// The rendered objects.
    public struct Rendered: Sendable {
        /// The kernel pod: the template with the gateway's labels, annotations, security context, resources,
        /// volumes and the connection-file mount applied.
        public var pod: KubeObject
        /// The Secret holding `connection.json` (with the kernel's signing key), mounted read-only into the pod.
        public var secret: KubeObject
        /// Connection info as written into the Secret (ip `0.0.0.0`; the gateway uses the pod IP).
        public var connectionInfo: ConnectionInfo
        /// The pod's name: the user's name (as a DNS label piece) and the kernel id, at most 63 characters.
        public var podName: String
        /// The namespace of both.
        public var namespace: String { pod.metadata.namespace ?? "" }
        /// A random id of this launch, in an annotation of both objects: how a create whose answer was lost
        /// is recognised as this launch's own.
        public var launchID: String
        /// What the start log should say about the rendering (e.g. a workspace left out).
        public var notes: [String] = []
    }

    /// The gateway's kernel pod settings: namespace, gateway name, ports, identities, default limits, images.
    let configuration: KubernetesProvisionerConfiguration

    /// Creates a renderer for one gateway's kernel pod settings.
    public init(configuration: KubernetesProvisionerConfiguration) {
        self.configuration = configuration
    }

    /// Gateway variables that make no sense inside a container image.
    static let localOnlyVariables: Set<String> = ["PATH", "HOME", "TMPDIR", "JPY_PARENT_PID", "LANG", "LC_ALL", "LC_CTYPE"]

    /// Variables never put into a kernel container, whoever sets them: `NVIDIA_VISIBLE_DEVICES` (the device
    /// plugin sets it to the allocated GPUs; `all` would expose every GPU of the node).
    static let forbiddenVariables: Set<String> = ["NVIDIA_VISIBLE_DEVICES"]

    /// Renders the objects for one kernel launch.
    public func render(_ context: LaunchContext, key: String) throws(GatewayError) -> Rendered {
        let spec = context.spec
        let ours = spec.metadata[KernelSpecMetadata.section]?.objectValue ?? [:]
        let env = context.environment
        let podName = Self.podName(user: context.user, kernelID: context.kernelID)
        let secretName = podName + "-connection"
        let namespace = Self.namespace(of: context, home: configuration.namespace)
        let image = try chooseImage(spec: spec, ours: ours, env: env)
        let (uid, gid) = try configuration.identity.ids(env: env, defaultUID: configuration.defaultUID, defaultGID: configuration.defaultGID)
        let volumes = try selectVolumes(ours: ours, env: env)

        let ports = configuration.kernelPorts
        let info = ConnectionInfo(
            shellPort: ports[0], iopubPort: ports[1], stdinPort: ports[2], controlPort: ports[3], hbPort: ports[4],
            ip: "0.0.0.0", key: key, transport: "tcp", signatureScheme: "hmac-sha256", kernelName: spec.name)
        let connectionFile = configuration.connectionMountPath + "/connection.json"

        let variables: [String: String] = [
            "kernel_id": context.kernelID, "kernel_username": context.user ?? "", "kernel_namespace": namespace,
            "kernel_image": image, "kernel_pod_name": podName, "kernel_name": spec.name,
            "kernel_working_dir": env["KERNEL_WORKING_DIR"] ?? "",
        ]
        var pod = try loadTemplate(spec: spec, ours: ours, variables: variables)
        let templateResources = pod.spec?["containers"]?.arrayValue?.first?["resources"]?.objectValue ?? [:]
        let resources = try KernelPodResources(defaultCPULimit: configuration.defaultCPULimit, defaultMemoryLimit: configuration.defaultMemoryLimit)
            .render(env: env, ours: ours, template: templateResources)

        // Metadata: ours wins.
        pod.apiVersion = "v1"
        pod.kind = "Pod"
        pod.metadata.name = podName
        pod.metadata.generateName = nil
        pod.metadata.namespace = namespace
        var labels = pod.metadata.labels
        labels[KernelPodLabels.name] = KernelPodLabels.appName
        labels[KernelPodLabels.component] = KernelPodLabels.kernelComponent
        labels[KernelPodLabels.kernelID] = context.kernelID
        labels[KernelPodLabels.legacyComponent] = KernelPodLabels.kernelComponent
        labels[KernelPodLabels.legacyApp] = KernelPodLabels.legacyAppName
        labels[KernelPodLabels.gateway] = KernelPodLabels.labelValue(configuration.gatewayName)
        if let user = context.user, !KernelPodLabels.labelValue(user).isEmpty {
            labels[KernelPodLabels.user] = KernelPodLabels.labelValue(user)
        }
        if let notebook = env["KERNEL_NOTEBOOK"], !KernelPodLabels.labelValue(notebook).isEmpty {
            labels[KernelPodLabels.notebook] = KernelPodLabels.labelValue(notebook)
        }
        // The owner is the gateway's to say, never a template's.
        labels[KernelPodLabels.userHashLabel] = context.user.map(KernelPodLabels.userHash)
        pod.metadata.labels = labels
        var annotations = pod.metadata.annotations
        annotations[KernelPodLabels.kernelSpecAnnotation] = spec.name
        annotations[KernelPodLabels.secretAnnotation] = secretName
        if let user = context.user {
            annotations[KernelPodLabels.userAnnotation] = user
        } else {
            annotations.removeValue(forKey: KernelPodLabels.userAnnotation)
        }
        annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] = "false"
        let launchID = UUID().uuidString.lowercased()
        annotations[KernelPodLabels.launchAnnotation] = launchID
        annotations[KernelPodLabels.ownerAnnotation] = configuration.replicaID
        annotations.removeValue(forKey: KernelPodLabels.endingAnnotation)
        annotations.removeValue(forKey: KernelPodLabels.workspaceAnnotation)
        pod.metadata.annotations = annotations

        // Spec.
        var podSpec = pod.spec?.objectValue ?? [:]
        podSpec["restartPolicy"] = "Never"
        podSpec["serviceAccountName"] = .string(configuration.kernelServiceAccount)
        podSpec["automountServiceAccountToken"] = false
        podSpec["enableServiceLinks"] = false
        var podSecurity = podSpec["securityContext"]?.objectValue ?? [:]
        podSecurity["runAsNonRoot"] = true
        podSecurity["runAsUser"] = .int(Int64(uid))
        podSecurity["runAsGroup"] = .int(Int64(gid))
        podSecurity["fsGroup"] = .int(Int64(gid))
        podSecurity["seccompProfile"] = ["type": "RuntimeDefault"]
        podSpec["securityContext"] = .object(podSecurity)

        var podVolumes = podSpec["volumes"]?.arrayValue ?? []
        podVolumes.append(["name": "kernel-connection", "secret": ["secretName": .string(secretName), "defaultMode": 0o440]])
        var mounts: [KubeJSON] = [["name": "kernel-connection", "mountPath": .string(configuration.connectionMountPath), "readOnly": true]]
        var notes: [String] = []
        var workspaceDirectory: String?
        if let workspace = context.workspace {
            let requestsGPUs = (resources["limits"]?.objectValue ?? [:]).keys.contains { $0.hasSuffix("/gpu") }
            let plan = Self.plan(workspace: workspace, podSpec: podSpec, requestsGPUs: requestsGPUs, notebookPath: context.notebookPath,
                                 requestedDirectory: env["KERNEL_WORKING_DIR"])
            if let volume = plan.volume, let mount = plan.mount {
                podVolumes.append(volume)
                mounts.append(mount)
                pod.metadata.annotations[KernelPodLabels.workspaceAnnotation] = workspace.claim
            }
            if let affinity = plan.affinity { podSpec["affinity"] = affinity }
            if let leftOut = plan.leftOut { notes.append(leftOut) }
            workspaceDirectory = plan.workingDirectory
        } else if let claim = configuration.workspaceClaim {
            podVolumes.append(["name": "workspace", "persistentVolumeClaim": ["claimName": .string(claim)]])
            mounts.append(["name": "workspace", "mountPath": .string(configuration.workspaceMountPath)])
        }
        podVolumes += volumes.volumes
        mounts += volumes.mounts
        podSpec["volumes"] = .array(podVolumes)

        var containers = podSpec["containers"]?.arrayValue ?? []
        if containers.isEmpty { containers = [[:]] }
        var container = containers[0].objectValue ?? [:]
        container["name"] = "kernel"
        container["image"] = .string(image)
        let argv = ArgvTemplate.render(spec.argv.isEmpty ? ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"] : spec.argv,
                                       values: ["connection_file": connectionFile, "kernel_id": context.kernelID,
                                                "resource_dir": configuration.connectionMountPath])
        // A small supervisor loop: a kernel restart (shutdown_request with restart) starts a new kernel
        // process in the same pod, keeping the pod and its GPU instead of queueing for a new one.
        container["command"] = .array(["/bin/sh", "-c", .string(Self.supervisorScript), "ej-kernel"] + argv.map { .string($0) })
        container.removeValue(forKey: "args")
        var containerEnv = (container["env"]?.arrayValue ?? []).filter { entry in
            guard let name = entry["name"]?.stringValue else { return false }
            return env[name] == nil && !Self.forbiddenVariables.contains(name)
        }
        for (name, value) in env.sorted(by: { $0.key < $1.key })
        where !Self.localOnlyVariables.contains(name) && !Self.forbiddenVariables.contains(name) {
            containerEnv.append(["name": .string(name), "value": .string(value)])
        }
        containerEnv.append(["name": "KERNEL_POD_NAME", "value": .string(podName)])
        containerEnv.append(["name": "KERNEL_NAMESPACE", "value": .string(namespace)])
        container["env"] = .array(containerEnv)
        var containerMounts = container["volumeMounts"]?.arrayValue ?? []
        containerMounts += mounts
        container["volumeMounts"] = .array(containerMounts)
        if resources.isEmpty { container.removeValue(forKey: "resources") } else { container["resources"] = .object(resources) }
        if let workspaceDirectory {
            container["workingDir"] = .string(workspaceDirectory)
        } else if let workingDir = env["KERNEL_WORKING_DIR"], context.workspace == nil, configuration.workspaceClaim != nil,
           workingDir == configuration.workspaceMountPath || workingDir.hasPrefix(configuration.workspaceMountPath + "/") {
            container["workingDir"] = .string(workingDir)
        }
        var containerSecurity = container["securityContext"]?.objectValue ?? [:]
        containerSecurity["allowPrivilegeEscalation"] = false
        containerSecurity["privileged"] = false
        containerSecurity["runAsNonRoot"] = true
        containerSecurity["capabilities"] = ["drop": ["ALL"]]
        containerSecurity["seccompProfile"] = ["type": "RuntimeDefault"]
        container["securityContext"] = .object(containerSecurity)
        container["ports"] = .array(zip(["shell", "iopub", "stdin", "control", "hb"], ports).map { name, port in
            ["name": .string("k-" + name), "containerPort": .int(Int64(port)), "protocol": "TCP"]
        })
        containers[0] = .object(container)
        podSpec["containers"] = .array(containers.map(Self.restricted))
        if let initContainers = podSpec["initContainers"]?.arrayValue {
            podSpec["initContainers"] = .array(initContainers.map(Self.restricted))
        }
        // The template may not put the kernel into the node's namespaces.
        for field in ["hostNetwork", "hostPID", "hostIPC"] where podSpec[field] != nil {
            podSpec[field] = false
        }
        pod.fields["spec"] = .object(podSpec)
        pod.fields.removeValue(forKey: "status")

        // The Secret holding the connection file.
        let connectionJSON: Data
        do { connectionJSON = try JSONEncoder().encode(info) } catch { throw .internalError("cannot encode connection info") }
        var secret = KubeObject(apiVersion: "v1", kind: "Secret", name: secretName, namespace: namespace)
        secret.metadata.labels = labels
        secret.metadata.annotations = [KernelPodLabels.launchAnnotation: launchID]
        secret.fields["type"] = "Opaque"
        secret.fields["data"] = ["connection.json": .string(connectionJSON.base64EncodedString())]
        return Rendered(pod: pod, secret: secret, connectionInfo: info, podName: podName, launchID: launchID, notes: notes)
    }

    /// The namespace of a kernel's pod and Secret: its user's workspace's (the notebook server's), else the gateway's
    /// own (`home`). Never taken from the request.
    static func namespace(of context: LaunchContext, home: String) -> String {
        context.namespace ?? home
    }

    /// The Pod Security "restricted" fields, forced on every container of the pod (which also loses any
    /// ``forbiddenVariables``).
    static func restricted(_ container: KubeJSON) -> KubeJSON {
        var object = container.objectValue ?? [:]
        if let env = object["env"]?.arrayValue {
            object["env"] = .array(env.filter { !forbiddenVariables.contains($0["name"]?.stringValue ?? "") })
        }
        var security = object["securityContext"]?.objectValue ?? [:]
        security["allowPrivilegeEscalation"] = false
        security["privileged"] = false
        security["runAsNonRoot"] = true
        security["capabilities"] = ["drop": ["ALL"]]
        security["seccompProfile"] = ["type": "RuntimeDefault"]
        object["securityContext"] = .object(security)
        return .object(object)
    }

    /// Starts the kernel command again when it exits cleanly (a restart request ends ipykernel with
    /// status 0); a crash ends the container with the kernel's status, so Kubernetes (and the gateway's
    /// watch) sees the failure instead of a silent crash loop inside the pod.
    ///
    /// The shell is the container's PID 1, which the kernel ignores signals for unless it handles them: SIGTERM
    /// (pod deletion) is passed on to the kernel, so deleting a pod takes as long as the kernel needs to stop,
    /// not the whole grace period. SIGINT is ignored by the shell: ipykernel's message-mode interrupt signals its
    /// whole process group.
    static let supervisorScript = """
        trap '' INT; trap 'kill -TERM "$k" 2>/dev/null; wait "$k"; exit 143' TERM; \
        while :; do "$@" & k=$!; wait "$k"; status=$?; [ "$status" -eq 0 ] || exit "$status"; sleep 0.2; done
        """

    /// `<user>-<kernel id>`, DNS-1123, at most 63 characters (the kernel id is never cut).
    public static func podName(user: String?, kernelID: String) -> String {
        let id = kernelID.lowercased()
        var prefix = String((user ?? "kernel").lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" })
        while prefix.contains("--") { prefix = prefix.replacingOccurrences(of: "--", with: "-") }
        prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if prefix.isEmpty { prefix = "kernel" }
        let room = 63 - id.count - 1
        prefix = String(prefix.prefix(max(1, room))).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if prefix.isEmpty { prefix = "k" }
        return prefix + "-" + id
    }

    /// The kernel's image: the kernelspec's (or the gateway default), or an allowed `KERNEL_IMAGE`.
    func chooseImage(spec: KernelSpec, ours: [String: JSONValue], env: [String: String]) throws(GatewayError) -> String {
        let own = ours[KernelSpecMetadata.image]?.stringValue ?? spec.metadata["process_proxy"]?["config"]?["image_name"]?.stringValue
            ?? configuration.defaultImage
        let patterns = (ours[KernelSpecMetadata.allowedImages]?.arrayValue ?? []).compactMap(\.stringValue)
        let policy = KernelImagePolicy(gatewayPatterns: configuration.allowedImages)
        if let image = try policy.choose(requested: env["KERNEL_IMAGE"], kernelspecImage: own, kernelspecPatterns: patterns) {
            return image
        }
        throw .invalidRequest("No kernel image could be determined for kernelspec '\(spec.name)'")
    }

    /// Requests and limits without a template or gateway default limits (see ``KernelPodResources``).
    static func resources(env: [String: String], ours: [String: JSONValue]) throws(GatewayError) -> [String: KubeJSON] {
        try KernelPodResources(defaultCPULimit: nil, defaultMemoryLimit: nil).render(env: env, ours: ours, template: [:])
    }

    /// `KERNEL_VOLUMES` / `KERNEL_VOLUME_MOUNTS` (EG's names, JSON or YAML lists) may only name volumes
    /// the administrator allowed (in the kernelspec's `allowed_volumes` definitions or the gateway's list);
    /// the definitions always come from the administrator, never from the client.
    func selectVolumes(ours: [String: JSONValue], env: [String: String]) throws(GatewayError) -> (volumes: [KubeJSON], mounts: [KubeJSON]) {
        guard !(env["KERNEL_VOLUMES"] ?? "").isEmpty || !(env["KERNEL_VOLUME_MOUNTS"] ?? "").isEmpty else { return ([], []) }
        var definitions: [String: KubeJSON] = [:]
        for item in ours[KernelSpecMetadata.allowedVolumes]?.arrayValue ?? [] {
            if let name = item["name"]?.stringValue, let json = Optional(try? KubeJSON(encoding: item)) ?? nil, json != .null { definitions[name] = json }
        }
        // Refused before any parsing when this kernelspec allows no volume at all.
        guard !definitions.isEmpty || !configuration.allowedVolumeNames.isEmpty else {
            throw .limitReached("This kernelspec allows no volumes (KERNEL_VOLUMES / KERNEL_VOLUME_MOUNTS)")
        }
        let requestedVolumes = try Self.parseList(env["KERNEL_VOLUMES"], variable: "KERNEL_VOLUMES")
        let requestedMounts = try Self.parseList(env["KERNEL_VOLUME_MOUNTS"], variable: "KERNEL_VOLUME_MOUNTS")
        var volumes: [KubeJSON] = []
        var names: Set<String> = []
        for item in requestedVolumes {
            guard let name = item["name"]?.stringValue else { throw .invalidRequest("KERNEL_VOLUMES entries need a name") }
            let definition: KubeJSON
            if let admin = definitions[name] {
                definition = admin
            } else if configuration.allowedVolumeNames.contains(name) {
                // A name the gateway allows without a definition: scratch space, never a client-chosen source.
                definition = ["name": .string(name), "emptyDir": [:]]
            } else {
                throw .limitReached("Volume '\(name)' is not allowed for this kernelspec")
            }
            if names.insert(name).inserted { volumes.append(definition) }
        }
        var mounts: [KubeJSON] = []
        for item in requestedMounts {
            guard let name = item["name"]?.stringValue, let path = item["mountPath"]?.stringValue, path.hasPrefix("/") else {
                throw .invalidRequest("KERNEL_VOLUME_MOUNTS entries need a name and an absolute mountPath")
            }
            guard names.contains(name) else { throw .invalidRequest("Volume mount '\(name)' names no requested volume") }
            guard !path.hasPrefix(configuration.connectionMountPath) else {
                throw .invalidRequest("Volume mount '\(name)' may not cover the kernel's connection file")
            }
            var mount: [String: KubeJSON] = ["name": .string(name), "mountPath": .string(path)]
            if let readOnly = item["readOnly"]?.boolValue { mount["readOnly"] = .bool(readOnly) }
            mounts.append(.object(mount))
        }
        return (volumes, mounts)
    }

    /// YAML as Yams resolves it (numbers stay numbers, quoted numbers stay strings) → KubeJSON.
    static func kubeJSON(fromYAML value: Any) -> KubeJSON {
        switch value {
        case let bool as Bool: return .bool(bool)
        case let int as Int: return .int(Int64(int))
        case let double as Double: return .double(double)
        case let string as String: return .string(string)
        case let array as [Any]: return .array(array.map { kubeJSON(fromYAML: $0) })
        case let map as [AnyHashable: Any]:
            var object: [String: KubeJSON] = [:]
            for (key, item) in map { object["\(key)"] = kubeJSON(fromYAML: item) }
            return .object(object)
        default: return .null
        }
    }

    static func parseList(_ text: String?, variable: String) throws(GatewayError) -> [KubeJSON] {
        guard let text, !text.isEmpty else { return [] }
        return try RequestYAML.parseListOfMappings(text, variable: variable)
    }

    func loadTemplate(spec: KernelSpec, ours: [String: JSONValue], variables: [String: String]) throws(GatewayError) -> KubeObject {
        let file = ours[KernelSpecMetadata.podTemplate]?.stringValue ?? KernelSpecMetadata.defaultPodTemplate
        let path = (spec.resourceDirectory as NSString).appendingPathComponent(file)
        guard !file.contains(".."), let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return KubeObject(apiVersion: "v1", kind: "Pod", name: "template")
        }
        let json: KubeJSON
        do { json = Self.kubeJSON(fromYAML: try Yams.load(yaml: text) as Any) } catch {
            throw .launchFailed(.provisioner("The pod template of kernelspec '\(spec.name)' is not valid YAML"))
        }
        do {
            return try KubeObject(json: Self.substitute(json, variables))
        } catch {
            throw .launchFailed(.provisioner("The pod template of kernelspec '\(spec.name)' is not a Kubernetes object"))
        }
    }

    /// Replaces `{{ name }}` inside string values (never keys, never structure).
    static func substitute(_ json: KubeJSON, _ variables: [String: String]) -> KubeJSON {
        switch json {
        case .string(let text):
            guard text.contains("{{") else { return json }
            // One pass, so substituted text is never substituted again.
            var result = ""
            var rest = text[...]
            while let open = rest.range(of: "{{") {
                result += rest[..<open.lowerBound]
                guard let close = rest[open.upperBound...].range(of: "}}") else {
                    rest = rest[open.lowerBound...]
                    break
                }
                let inner = String(rest[open.upperBound..<close.lowerBound])
                // Exactly `{{ name }}` or `{{name}}`.
                let name = inner.hasPrefix(" ") && inner.hasSuffix(" ") && inner.count > 2
                    ? String(inner.dropFirst().dropLast()) : inner
                if !name.contains(" "), let value = variables[name] {
                    result += value
                } else {
                    result += rest[open.lowerBound..<close.upperBound]
                }
                rest = rest[close.upperBound...]
            }
            result += rest
            return .string(result)
        case .array(let items): return .array(items.map { substitute($0, variables) })
        case .object(let object): return .object(object.mapValues { substitute($0, variables) })
        default: return json
        }
    }
}
