import KubernetesAPI

extension NotebookRenderer {
    /// Name of the JupyterLab container when the template names none.
    static let containerName = "notebook"

    /// The JupyterLab Deployment: the user's pod template with our container settings merged in. The
    /// image's own start command is kept; the gateway is wired through environment variables.
    func deployment(storage: NotebookStorage?) -> DesiredChild {
        let spec = input.notebook.spec
        var object = factory.make(.deployments, name: names.workload)
        let template = spec.template ?? .emptyObject

        var podLabels = template[path: "metadata", "labels"]?.stringMapValue ?? [:]
        for (key, value) in factory.labels { podLabels[key] = value }
        var podAnnotations = template[path: "metadata", "annotations"]?.stringMapValue ?? [:]
        podAnnotations[ControllerLabels.configHashAnnotation] = configHash

        var podSpec = template["spec"] ?? .emptyObject
        var containers = podSpec["containers"]?.arrayValue ?? []
        let index = containers.firstIndex { $0["name"]?.stringValue == Self.containerName } ?? (containers.isEmpty ? nil : 0)
        var container = index.map { containers[$0] } ?? ["name": .string(Self.containerName)]
        container = notebookContainer(container, storage: storage)
        if input.gateway != nil { container = Self.addingGatewayClient(to: container) }
        if let index { containers[index] = container } else { containers.insert(container, at: 0) }
        podSpec["containers"] = .array(containers)

        var ours: [KubeJSON] = []
        if let storage { ours.append(["name": "workspace", "persistentVolumeClaim": ["claimName": .string(storage.claimName)]]) }
        if let volume = gatewayCAVolume { ours.append(volume) }
        if let volume = passwordConfigVolume { ours.append(volume) }
        if !ours.isEmpty { podSpec["volumes"] = .array(Self.replacing(podSpec["volumes"], with: ours)) }
        if input.gateway != nil { podSpec = addingGatewayClientVolume(to: podSpec) }
        var security = podSpec["securityContext"] ?? .emptyObject
        if security["fsGroup"] == nil { security["fsGroup"] = 100 }
        podSpec["securityContext"] = security
        if podSpec["enableServiceLinks"] == nil { podSpec["enableServiceLinks"] = false }

        // A read-write-once work directory cannot be attached to two pods during a rolling update.
        let strategy: KubeJSON = storage == nil ? ["type": "RollingUpdate"] : ["type": "Recreate"]
        object.spec = [
            "replicas": input.notebook.spec.stopped == true ? 0 : 1,
            "revisionHistoryLimit": 5,
            "selector": ["matchLabels": KubeJSON(podSelector)],
            "strategy": strategy,
            "template": ["metadata": ["labels": KubeJSON(podLabels), "annotations": KubeJSON(podAnnotations)], "spec": podSpec],
        ]
        return DesiredChild(.deployments, object)
    }

    /// `list` (the template's volumes or mounts) with the entries named like one of `ours` replaced by it.
    static func replacing(_ list: KubeJSON?, with ours: [KubeJSON]) -> [KubeJSON] {
        let names = Set(ours.compactMap { $0["name"]?.stringValue })
        return (list?.arrayValue ?? []).filter { !names.contains($0["name"]?.stringValue ?? "") } + ours
    }

    /// A hash of the tokens and CA the pod reads at start, so that a new token (a rotation) rolls the pod.
    var configHash: String {
        var parts = [input.notebookToken ?? "", input.gatewayToken ?? "", input.gateway?.url ?? "", input.gateway?.caCertificate ?? ""]
        parts.append(passwordHash ?? "")
        parts.append(input.notebook.spec.auth?.secretName ?? "")
        return CanonicalJSON.hash(text: parts.joined(separator: "\u{1}"))
    }

    /// The JupyterLab container: image, resources, environment, port, work directory, readiness.
    func notebookContainer(_ original: KubeJSON, storage: NotebookStorage?) -> KubeJSON {
        let spec = input.notebook.spec
        var container = original
        if let image = KernelSpecRenderer.nonEmpty(spec.image) {
            container["image"] = .string(image)
        } else if container["image"]?.stringValue?.isEmpty ?? true {
            container["image"] = .string(input.settings.notebookImage)
        }
        if let policy = KernelSpecRenderer.nonEmpty(spec.imagePullPolicy) { container["imagePullPolicy"] = .string(policy) }
        if let resources = resources(container["resources"]) { container["resources"] = resources }

        var ours = environment()
        if let configPath = configPathEnvironment(container["env"]?.arrayValue ?? []) { ours.append(configPath) }
        let ourNames = Set(ours.compactMap { $0["name"]?.stringValue })
        let kept = (container["env"]?.arrayValue ?? []).filter { !ourNames.contains($0["name"]?.stringValue ?? "") }
        container["env"] = .array(input.gateway == nil ? kept + ours : Self.addingReconnectDefaults(to: kept + ours))

        var ports = container["ports"]?.arrayValue ?? []
        if !ports.contains(where: { $0["containerPort"]?.intValue == JupyterNotebookSpec.port }) {
            ports.append(["name": "notebook", "containerPort": .int(Int64(JupyterNotebookSpec.port)), "protocol": "TCP"])
        }
        container["ports"] = .array(ports)

        var mounts: [KubeJSON] = []
        if let storage { mounts.append(["name": "workspace", "mountPath": .string(storage.mountPath)]) }
        if gatewayCAVolume != nil {
            mounts.append(["name": .string(Self.gatewayCAVolumeName), "mountPath": .string(Self.gatewayCAPath), "readOnly": true])
        }
        if let mount = passwordConfigMount { mounts.append(mount) }
        if !mounts.isEmpty { container["volumeMounts"] = .array(Self.replacing(container["volumeMounts"], with: mounts)) }
        if container["readinessProbe"] == nil {
            container["readinessProbe"] = [
                "tcpSocket": ["port": .int(Int64(JupyterNotebookSpec.port))], "periodSeconds": 5, "failureThreshold": 3,
            ]
        }
        return container
    }

    /// `resources` (template, then `spec.resources`) with `spec.cpu` / `spec.memory` (or the Java operator's
    /// `cpuRequest` / `memoryRequest`) applied, and its defaults (500m, 1Gi) for a request set nowhere.
    func resources(_ fromTemplate: KubeJSON?) -> KubeJSON? {
        let spec = input.notebook.spec
        var resources = spec.resources ?? fromTemplate ?? .emptyObject
        if let cpu = spec.cpu ?? spec.cpuRequest { resources[path: "requests", "cpu"] = .string(cpu.description) }
        if let memory = spec.memory {
            resources[path: "requests", "memory"] = .string(memory.description)
            resources[path: "limits", "memory"] = .string(memory.description)
        } else if let memory = spec.memoryRequest {
            resources[path: "requests", "memory"] = .string(memory.description)
        }
        for (name, fallback) in [("cpu", JupyterNotebookSpec.defaultCPURequest), ("memory", JupyterNotebookSpec.defaultMemoryRequest)]
        where resources[path: "requests", name] == nil && resources[path: "limits", name] == nil {
            resources[path: "requests", name] = .string(fallback)
        }
        return resources
    }

    /// The environment wiring JupyterLab to the gateway; tokens come from Secrets, never from args. These
    /// replace the template's; the reconnect settings (``reconnectDefaults``) are only added when it lacks them.
    func environment() -> [KubeJSON] {
        var env: [KubeJSON] = []
        if let gateway = input.gateway {
            // jupyter_server sends KERNEL_LAUNCH_TIMEOUT with each start and needs its request timeout to
            // exceed it by its launch pad (2 s).
            // Range-checked: a launch timeout near 2^63 must not overflow here.
            let launch = min(86_400, max(1, gateway.launchTimeout))
            env.append(.env("JUPYTER_GATEWAY_URL", gateway.url))
            env.append(.env("JUPYTER_GATEWAY_AUTH_TOKEN", secret: names.gatewayTokenSecret, key: Self.gatewayTokenKey))
            if gateway.caCertificate != nil {
                env.append(.env("JUPYTER_GATEWAY_CA_CERTS", Self.gatewayCAPath + "/" + Self.gatewayCAKey))
            }
            env.append(.env("JUPYTER_GATEWAY_REQUEST_TIMEOUT", "\(launch + 2).0"))
            env.append(.env("KERNEL_LAUNCH_TIMEOUT", String(launch)))
        }
        env.append(.env("KERNEL_USERNAME", NotebookIdentity.user(of: input.notebook)))
        env.append(.env("KERNEL_NOTEBOOK", names.instanceLabel))
        if authEnabled {
            let secret = KernelSpecRenderer.nonEmpty(input.notebook.spec.auth?.secretName) ?? names.secret
            env.append(.env("JUPYTER_TOKEN", secret: secret, key: Self.tokenKey))
        } else {
            // The docker-stacks start script appends NOTEBOOK_ARGS: no token, no password.
            env.append(.env("NOTEBOOK_ARGS", "--IdentityProvider.token= --PasswordIdentityProvider.hashed_password="))
        }
        return env
    }
}
