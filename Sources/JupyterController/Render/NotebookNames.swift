/// Names of a JupyterNotebook's children.
public struct NotebookNames: Sendable, Hashable {
    /// The notebook's name.
    public var notebook: String

    /// Names for a notebook.
    /// - Parameter notebook: The JupyterNotebook's name.
    public init(notebook: String) { self.notebook = notebook }

    /// Deployment and Service.
    public var workload: String { notebook }
    /// The Secret with JupyterLab's token.
    public var secret: String { "\(notebook)-jupyter" }
    /// The Secret with the notebook's own gateway token (key `token`); deleting it rotates the token.
    public var gatewayTokenSecret: String { "\(notebook)-gateway-token" }
    /// The Role and RoleBinding letting a gateway of another namespace run this notebook's kernels here.
    public var gatewayAccess: String { "\(notebook)-gateway-kernels" }
    /// The ConfigMap with the CA (`ca.crt`) of a gateway serving HTTPS.
    public var gatewayCAConfigMap: String { "\(notebook)-gateway-ca" }
    /// The generated work-directory claim.
    public var claim: String { "\(notebook)-work" }
    /// The ConfigMap with jupyter_server's gateway connection class (see `NotebookGatewayClient`).
    public var gatewayClient: String { "\(notebook)-gateway-client" }
    /// The `elastic-jupyter.io/notebook` label value (also `KERNEL_NOTEBOOK`).
    public var instanceLabel: String { ControllerLabels.labelValue(notebook) }
}

/// How a notebook reaches its gateway.
public struct GatewayConnection: Sendable, Hashable {
    /// The gateway's name.
    public var name: String
    /// The gateway's namespace.
    public var namespace: String
    /// Its URL.
    public var url: String
    /// Its kernel launch timeout in seconds (the notebook's gateway timeouts follow it).
    public var launchTimeout: Int
    /// The CA certificate (PEM) the notebook trusts the gateway's HTTPS with; `nil` over plain HTTP.
    public var caCertificate: String?

    /// Creates a connection.
    public init(name: String, namespace: String, url: String, launchTimeout: Int, caCertificate: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.url = url
        self.launchTimeout = launchTimeout
        self.caCertificate = caCertificate
    }
}
