import KubernetesAPI

/// What a notebook's rendering needs besides the notebook itself.
public struct NotebookRenderInput: Sendable {
    /// The notebook.
    public var notebook: JupyterNotebook
    /// Its gateway, when it names one that is usable.
    public var gateway: GatewayConnection?
    /// JupyterLab's token to keep in the notebook Secret; `nil` when auth is disabled or the spec names a Secret.
    public var notebookToken: String?
    /// Images.
    public var settings: RenderSettings

    /// Creates an input.
    public init(notebook: JupyterNotebook, gateway: GatewayConnection?, notebookToken: String?, settings: RenderSettings = RenderSettings()) {
        self.notebook = notebook
        self.gateway = gateway
        self.notebookToken = notebookToken
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
}

/// Pure rendering of a JupyterNotebook's children: its Secret, work-directory claim, Deployment and Service.
public struct NotebookRenderer: Sendable {
    /// Secret key of JupyterLab's token.
    public static let tokenKey = "token"
    /// Secret key of the gateway's token.
    public static let gatewayTokenKey = "gateway-token"

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

    /// `http://<notebook>.<namespace>:8888`.
    public static func url(for notebook: JupyterNotebook) -> String {
        "http://\(notebook.name).\(notebook.namespace):\(JupyterNotebookSpec.port)"
    }

    /// The notebook's user: `spec.user`, else its name.
    public static func user(of notebook: JupyterNotebook) -> String {
        KernelSpecRenderer.nonEmpty(notebook.spec.user) ?? notebook.name
    }

    /// Whether JupyterLab's token is enabled.
    var authEnabled: Bool { input.notebook.spec.auth?.mode != "disable" }

    /// Renders everything.
    public func render() -> NotebookRendering {
        var children: [DesiredChild] = []
        if let secret = secret() { children.append(secret) }
        let storage = self.storage
        if let claim = claim(storage) { children.append(claim) }
        if input.gateway != nil { children.append(gatewayClientConfigMap()) }
        children.append(deployment(storage: storage))
        children.append(service())
        return NotebookRendering(children: children, url: Self.url(for: input.notebook), pvcName: storage?.claimName)
    }

    // MARK: Secret

    /// The notebook Secret: JupyterLab's token (unless given elsewhere) and a copy of the gateway's token
    /// (a pod can only read Secrets of its own namespace).
    func secret() -> DesiredChild? {
        var data: [String: KubeJSON] = [:]
        if authEnabled, input.notebook.spec.auth?.secretName == nil, let token = input.notebookToken {
            data[Self.tokenKey] = .string(Base64.encode(token))
        }
        if let gateway = input.gateway { data[Self.gatewayTokenKey] = .string(Base64.encode(gateway.token)) }
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
}
