import KubernetesAPI

/// What a notebook's rendering needs besides the notebook itself.
public struct NotebookRenderInput: Sendable {
    /// The notebook.
    public var notebook: JupyterNotebook
    /// Its gateway, when it names one that is usable.
    public var gateway: GatewayConnection?
    /// JupyterLab's token to keep in the notebook Secret; `nil` when auth is disabled or the spec names a Secret.
    public var notebookToken: String?
    /// The notebook's own gateway token (its identity on the gateway); `nil` without a gateway.
    public var gatewayToken: String?
    /// The hash of `auth.password` to configure (``PasswordHash``); `nil` without a password.
    public var passwordHash: String?
    /// Images.
    public var settings: RenderSettings

    /// Creates an input.
    public init(
        notebook: JupyterNotebook, gateway: GatewayConnection?, notebookToken: String?, gatewayToken: String? = nil,
        passwordHash: String? = nil, settings: RenderSettings = RenderSettings()
    ) {
        self.passwordHash = passwordHash
        self.notebook = notebook
        self.gateway = gateway
        self.notebookToken = notebookToken
        self.gatewayToken = gatewayToken
        self.settings = settings
    }
}

/// Everything a notebook should have.
public struct NotebookRendering: Sendable {
    /// Children to create or update.
    public var children: [DesiredChild]
    /// The notebook's URL inside the cluster.
    public var url: String
    /// The work-directory claim, if any.
    public var pvcName: String?
    /// Optional children to delete (the gateway CA once the gateway stops serving HTTPS).
    public var absent: [AbsentChild] = []
}

/// Pure rendering of a JupyterNotebook's children: its Secrets (JupyterLab's token, its own gateway token),
/// the gateway's CA, work-directory claim, Deployment and Service.
public struct NotebookRenderer: Sendable {
    /// Secret key of JupyterLab's token.
    public static let tokenKey = "token"
    /// Key of the token in the notebook's gateway-token Secret.
    public static let gatewayTokenKey = "token"

    let input: NotebookRenderInput
    let names: NotebookNames
    let factory: ObjectFactory

    /// Creates a renderer.
    /// - Parameter input: The notebook and its gateway.
    public init(_ input: NotebookRenderInput) {
        self.input = input
        names = NotebookNames(notebook: input.notebook.name)
        factory = ObjectFactory(
            namespace: input.notebook.namespace, labels: Self.labels(names: names), owner: input.notebook.ownerReference)
    }

    static func labels(names: NotebookNames) -> [String: String] {
        [
            ControllerLabels.name: ControllerLabels.appName,
            ControllerLabels.component: "notebook",
            ControllerLabels.instance: names.instanceLabel,
            ControllerLabels.managedBy: ControllerLabels.managerName,
            ControllerLabels.notebook: names.instanceLabel,
        ]
    }

    /// Labels selecting the notebook's pod (never its kernels, which carry `component=kernel`).
    var podSelector: [String: String] {
        [ControllerLabels.component: "notebook", ControllerLabels.notebook: names.instanceLabel]
    }

    /// The notebook's Ingress URL when it has one (`https` with a TLS Secret), else its Service's in the cluster,
    /// `http://<notebook>.<namespace>:8888`.
    public static func url(for notebook: JupyterNotebook) -> String {
        if let ingress = notebook.spec.ingress { return IngressRendering.url(of: ingress) }
        return "http://\(notebook.name).\(notebook.namespace):\(JupyterNotebookSpec.port)"
    }

    /// Whether JupyterLab's token is enabled.
    var authEnabled: Bool { input.notebook.spec.auth?.mode != "disable" }

    /// Renders everything.
    public func render() -> NotebookRendering {
        var children: [DesiredChild] = []
        var absent: [AbsentChild] = []
        if let secret = secret() {
            children.append(secret)
        } else {
            // Nothing of JupyterLab's to keep: a Secret an older controller made only to hold the gateway's
            // shared token goes.
            absent.append(AbsentChild(.secrets, namespace: input.notebook.namespace, name: names.secret))
        }
        if let secret = gatewayTokenSecret() { children.append(secret) }
        if let configMap = gatewayCAConfigMap() {
            children.append(configMap)
        } else {
            absent.append(AbsentChild(.configMaps, namespace: input.notebook.namespace, name: names.gatewayCAConfigMap))
        }
        if let access = gatewayAccess() {
            children += access
        } else {
            absent += Self.gatewayAccessChildren(namespace: input.notebook.namespace, names: names)
        }
        let storage = self.storage
        if let claim = claim(storage) { children.append(claim) }
        if input.gateway != nil { children.append(gatewayClientConfigMap()) }
        children.append(deployment(storage: storage))
        children.append(service())
        if let ingress = ingress() {
            children.append(ingress)
        } else {
            absent.append(AbsentChild(.ingresses, namespace: input.notebook.namespace, name: names.workload))
        }
        var rendering = NotebookRendering(children: children, url: Self.url(for: input.notebook), pvcName: storage?.claimName)
        rendering.absent = absent
        return rendering
    }

    // MARK: Secret

    /// The notebook Secret: JupyterLab's token (unless given elsewhere) and the config holding its password's hash,
    /// if it has a password. The gateway's own token is never
    /// given to a notebook: it has its own (``gatewayTokenSecret()``).
    func secret() -> DesiredChild? {
        var data: [String: KubeJSON] = [:]
        if authEnabled, input.notebook.spec.auth?.secretName == nil, let token = input.notebookToken {
            data[Self.tokenKey] = .string(Base64.encode(token))
        }
        if let config = passwordConfig() { data[Self.passwordConfigKey] = .string(Base64.encode(config)) }
        guard !data.isEmpty else { return nil }
        var object = factory.make(.secrets, name: names.secret)
        object.fields["type"] = "Opaque"
        object.fields["data"] = .object(data)
        return DesiredChild(.secrets, object)
    }

    // MARK: Service

    func service() -> DesiredChild {
        let settings = input.notebook.spec.service
        var object = factory.make(.services, name: names.workload)
        if let annotations = settings?.annotations { object.annotations = annotations }
        object.spec = [
            "type": .string(KernelSpecRenderer.nonEmpty(settings?.type) ?? "ClusterIP"),
            "selector": KubeJSON(podSelector),
            "ports": [
                ["name": "http", "port": .int(Int64(JupyterNotebookSpec.port)), "targetPort": .int(Int64(JupyterNotebookSpec.port)), "protocol": "TCP"]
            ],
        ]
        return DesiredChild(.services, object)
    }

    /// The optional Ingress to the notebook Service.
    func ingress() -> DesiredChild? {
        guard let settings = input.notebook.spec.ingress else { return nil }
        return IngressRendering.ingress(settings, name: names.workload, servicePort: "http", factory: factory)
    }
}
