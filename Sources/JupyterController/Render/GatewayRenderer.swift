import KubernetesAPI

/// What a gateway's rendering needs besides the gateway itself.
public struct GatewayRenderInput: Sendable {
    /// The gateway.
    public var gateway: JupyterGateway
    /// JupyterKernelSpecs of the gateway's namespace, by name.
    public var kernelSpecs: [String: JupyterKernelSpec]
    /// JupyterKernelTemplates, by key.
    public var kernelTemplates: [ObjectKey: KubeObject]
    /// The auth token to keep in the generated Secret; `nil` when the spec names its own Secret.
    public var authToken: String?
    /// Images.
    public var settings: RenderSettings

    /// Creates an input.
    public init(
        gateway: JupyterGateway, kernelSpecs: [String: JupyterKernelSpec] = [:],
        kernelTemplates: [ObjectKey: KubeObject] = [:], authToken: String?, settings: RenderSettings = RenderSettings()
    ) {
        self.gateway = gateway
        self.kernelSpecs = kernelSpecs
        self.kernelTemplates = kernelTemplates
        self.authToken = authToken
        self.settings = settings
    }
}

/// Everything a gateway should have.
public struct GatewayRendering: Sendable {
    /// Children to create or update.
    public var children: [DesiredChild]
    /// Optional children to delete.
    public var absent: [AbsentChild]
    /// Kernelspecs offered (names in the ConfigMap).
    public var kernelSpecNames: [String]
    /// JupyterKernelSpecs listed in `spec.kernels` that do not exist.
    public var missingKernelSpecs: [String]
    /// JupyterKernelTemplates referenced by kernelspecs that do not exist (`namespace/name`).
    public var missingTemplates: [String]
    /// The default kernel, when it is not among the kernelspecs offered.
    public var defaultKernelNotOffered: String?
    /// Kernelspecs not offered because they (or their templates) set refused fields: `name: field, …`.
    public var refusedKernelSpecs: [String] = []
    /// The gateway URL inside the cluster.
    public var url: String
    /// The Secret holding the auth token.
    public var authSecretName: String
    /// Key of the token in that Secret.
    public var authSecretKey: String
    /// The replicas rendered (`spec.replicas` clamped to ``RenderSettings/gatewayReplicaLimit``).
    public var replicas: Int = 1
    /// The pre-pull DaemonSets rendered (empty when `spec.prePull.enabled` is false).
    public var prePull: [PrePullSet] = []
}

/// Pure rendering of a JupyterGateway's children: ServiceAccounts, Role, RoleBinding, NetworkPolicy,
/// kernelspec ConfigMap, auth Secret, Deployment, Service, and the optional PodDisruptionBudget and Ingress.
public struct GatewayRenderer: Sendable {
    /// Where the kernelspec ConfigMap is mounted (`EJ_KERNELSPECS_DIRS`).
    public static let kernelSpecsPath = "/etc/elastic-jupyter/kernelspecs"
    /// Where the TLS Secret is mounted.
    public static let tlsPath = "/etc/elastic-jupyter/tls"
    /// Seconds a stopping gateway pod has before it is killed: its drain is bounded well below this.
    public static let terminationGracePeriod: Int64 = 60

    let input: GatewayRenderInput
    let names: GatewayNames
    let factory: ObjectFactory

    /// Creates a renderer.
    /// - Parameter input: The gateway and its dependencies.
    public init(_ input: GatewayRenderInput) {
        self.input = input
        names = GatewayNames(gateway: input.gateway.name)
        factory = ObjectFactory(
            namespace: input.gateway.namespace, labels: Self.labels(names: names, component: "gateway"),
            owner: input.gateway.ownerReference)
    }

    /// Labels of the gateway's children (and its pods).
    static func labels(names: GatewayNames, component: String) -> [String: String] {
        [
            ControllerLabels.name: ControllerLabels.appName,
            ControllerLabels.component: component,
            ControllerLabels.instance: ControllerLabels.labelValue(names.gateway),
            ControllerLabels.managedBy: ControllerLabels.managerName,
            ControllerLabels.gateway: names.instanceLabel,
        ]
    }

    /// Labels selecting the gateway's own pods (never its kernels).
    var podSelector: [String: String] {
        [ControllerLabels.component: "gateway", ControllerLabels.gateway: names.instanceLabel]
    }

    /// Labels selecting the gateway's kernel pods.
    var kernelSelector: [String: String] {
        [ControllerLabels.component: ControllerLabels.kernelComponent, ControllerLabels.gateway: names.instanceLabel]
    }

    /// `http(s)://<gateway>.<namespace>:8888`.
    public static func url(for gateway: JupyterGateway) -> String {
        let scheme = gateway.spec.tls == nil ? "http" : "https"
        return "\(scheme)://\(gateway.name).\(gateway.namespace):\(JupyterGatewaySpec.port)"
    }

    /// Renders everything.
    public func render() -> GatewayRendering {
        let kernels = kernelSpecFiles()
        let auth = authSecretReference
        var children: [DesiredChild] = [
            serviceAccount(), kernelServiceAccount(), role(), roleBinding(), networkPolicy(),
            kernelSpecConfigMap(kernels.files),
        ]
        if let secret = authSecret() { children.append(secret) }
        children.append(deployment(kernelSpecs: kernels.files))
        children.append(service())
        let prePull = input.gateway.spec.prePullEnabled ? Self.prePullSets(names: names, kernelSpecs: kernels.files) : []
        children += prePull.map(prePullDaemonSet)
        var absent: [AbsentChild] = []
        let budget = disruptionBudget()
        if let desired = budget.desired { children.append(desired) }
        if let gone = budget.absent { absent.append(gone) }
        if let ingress = ingress() {
            children.append(ingress)
        } else {
            absent.append(AbsentChild(ResourceDescriptor.ingresses, namespace: input.gateway.namespace, name: names.workload))
        }
        let defaultKernel = KernelSpecRenderer.nonEmpty(input.gateway.spec.defaultKernel) ?? JupyterGatewaySpec.builtInKernel
        var rendering = GatewayRendering(
            children: children, absent: absent, kernelSpecNames: kernels.files.map(\.name).sorted(),
            missingKernelSpecs: kernels.missing, missingTemplates: kernels.missingTemplates,
            defaultKernelNotOffered: allowedKernels.contains(defaultKernel) ? nil : defaultKernel,
            url: Self.url(for: input.gateway), authSecretName: auth.name, authSecretKey: auth.key)
        rendering.replicas = replicas
        rendering.refusedKernelSpecs = kernels.refused
        rendering.prePull = prePull
        return rendering
    }

    // MARK: Kernelspecs

    /// The kernelspecs offered: the built-in one, or the listed JupyterKernelSpecs that exist.
    /// A kernelspec whose fields (or whose template's) the gateway's ``KernelPodPolicy`` refuses is left out.
    func kernelSpecFiles() -> (files: [KernelSpecFiles], missing: [String], missingTemplates: [String], refused: [String]) {
        let spec = input.gateway.spec
        let kernelImage = KernelSpecRenderer.nonEmpty(spec.kernelImage) ?? input.settings.kernelImage
        let listed = spec.kernels ?? []
        guard !listed.isEmpty else { return ([KernelSpecRenderer.builtIn(image: kernelImage)], [], [], []) }
        let policy = KernelPodPolicy(spec.kernelPolicy)
        var files: [KernelSpecFiles] = []
        var missing: [String] = []
        var missingTemplates: [String] = []
        var refused: [String] = []
        var seen: Set<String> = []
        for name in listed where seen.insert(name).inserted {
            guard let kernelSpec = input.kernelSpecs[name] else {
                missing.append(name)
                continue
            }
            var template: KubeObject?
            if let reference = kernelSpec.spec.template {
                let key = ObjectKey(namespace: reference.namespace(defaultingTo: kernelSpec.namespace), name: reference.name)
                template = input.kernelTemplates[key]
                if template == nil { missingTemplates.append(key.description) }
            }
            let refusals = policy.refusals(kernelSpec: kernelSpec, template: template)
            guard refusals.isEmpty else {
                refused.append("\(name): " + refusals.joined(separator: ", "))
                continue
            }
            files.append(KernelSpecRenderer.render(kernelSpec, template: template, defaultImage: kernelImage, policy: policy.policy))
        }
        return (files, missing, missingTemplates, refused)
    }

    func kernelSpecConfigMap(_ files: [KernelSpecFiles]) -> DesiredChild {
        var object = factory.make(.configMaps, name: names.kernelSpecConfigMap)
        let layout = KernelSpecRenderer.configMapLayout(files)
        object.fields["data"] = KubeJSON(layout.data)
        if !layout.binaryData.isEmpty { object.fields["binaryData"] = KubeJSON(layout.binaryData) }
        return DesiredChild(.configMaps, object)
    }

    // MARK: Identity and RBAC

    func serviceAccount() -> DesiredChild {
        DesiredChild(.serviceAccounts, factory.make(.serviceAccounts, name: names.serviceAccount))
    }

    /// Kernel pods run as this account: no API token, bound to nothing.
    func kernelServiceAccount() -> DesiredChild {
        var object = factory.make(.serviceAccounts, name: names.kernelServiceAccount)
        object.labels[ControllerLabels.component] = ControllerLabels.kernelComponent
        object.fields["automountServiceAccountToken"] = false
        return DesiredChild(.serviceAccounts, object)
    }

    /// Least privilege: the verbs the gateway uses on kernel pods and their connection Secrets, in its namespace.
    /// Each verb has a user in `Sources/KernelGateway/Provisioning/Kubernetes`:
    /// - pods: list/watch (`KernelPodTracker` informer), create (`KubernetesPodProvisioner`), patch
    ///   (`PodKernel`), get (`PodLaunch`: reading back a name that already exists), delete (`PodLaunch.delete`);
    /// - secrets: create (`KubernetesPodProvisioner`), patch (its owner reference), delete (`PodLaunch.delete`),
    ///   get (`PodLaunch` for the same read-back; kept for reading the gateway's own Secrets back, which the
    ///   durability work relies on);
    /// - secrets named `<gateway>-users` only: get/list/watch (the users Secret, `EJ_USERS_SECRET`, read and
    ///   watched by name, i.e. with the field selector `metadata.name=<gateway>-users`);
    /// - events: list/watch (`KernelPodTracker`'s scale-up informers);
    /// - coordination.k8s.io leases, used only when several gateway replicas serve the same kernels (issue 16):
    ///   list/watch (`ReplicaRoster`'s informer over the replicas' Leases), create and patch (a replica's own
    ///   Lease, renewed), delete (released when the replica stops); get and update for reading back and
    ///   taking over a Lease with optimistic concurrency (kernel lifecycle ownership across replicas).
    /// The controller's ClusterRole must hold each of these (RBAC forbids granting more than one holds).
    func role() -> DesiredChild {
        var object = factory.make(.roles, name: names.role)
        object.fields["rules"] = [
            ["apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]],
            ["apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "delete", "patch"]],
            ["apiGroups": [""], "resources": ["secrets"], "resourceNames": [.string(names.usersSecret)], "verbs": ["get", "list", "watch"]],
            ["apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]],
            [
                "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            ],
        ]
        return DesiredChild(.roles, object)
    }

    func roleBinding() -> DesiredChild {
        var object = factory.make(.roleBindings, name: names.role)
        object.fields["roleRef"] = ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(names.role)]
        object.fields["subjects"] = [
            ["kind": "ServiceAccount", "name": .string(names.serviceAccount), "namespace": .string(input.gateway.namespace)]
        ]
        return DesiredChild(.roleBindings, object)
    }

    // MARK: Auth token

    /// The Secret and key the gateway reads its token from.
    var authSecretReference: (name: String, key: String) {
        if let given = input.gateway.spec.authTokenSecret { return (given.name, given.resolvedKey) }
        return (names.generatedAuthSecret, "token")
    }

    /// The generated token Secret (none when the spec names its own).
    func authSecret() -> DesiredChild? {
        guard input.gateway.spec.authTokenSecret == nil, let token = input.authToken else { return nil }
        var object = factory.make(.secrets, name: names.generatedAuthSecret)
        object.fields["type"] = "Opaque"
        object.fields["data"] = ["token": .string(Base64.encode(token))]
        return DesiredChild(.secrets, object)
    }
}
