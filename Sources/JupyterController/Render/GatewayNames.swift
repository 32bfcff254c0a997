/// Names of a JupyterGateway's children. The Deployment and the Service are named after the gateway, so
/// the upstream URL `http://<gateway>.<namespace>:8888` keeps working.
public struct GatewayNames: Sendable, Hashable {
    /// The gateway's name.
    public var gateway: String

    /// Names for a gateway.
    /// - Parameter gateway: The JupyterGateway's name.
    public init(gateway: String) { self.gateway = gateway }

    /// The gateway's ServiceAccount (it creates kernel pods).
    public var serviceAccount: String { gateway }
    /// The gateway's Role and RoleBinding.
    public var role: String { gateway }
    /// The kernels' ServiceAccount (no token, no role).
    public var kernelServiceAccount: String { "\(gateway)-kernel" }
    /// The NetworkPolicy isolating this gateway's kernel pods.
    public var networkPolicy: String { "\(gateway)-kernels" }
    /// The kernelspec ConfigMap.
    public var kernelSpecConfigMap: String { "\(gateway)-kernelspecs" }
    /// The generated auth-token Secret.
    public var generatedAuthSecret: String { "\(gateway)-auth" }
    /// The users Secret (key `users.yaml`): one entry per notebook using this gateway (``UsersRoster``).
    public var usersSecret: String { "\(gateway)-users" }
    /// Deployment, Service and Ingress.
    public var workload: String { gateway }
    /// The `elastic-jupyter.io/gateway` label value (the gateway's `EG_NAME`).
    public var instanceLabel: String { ControllerLabels.labelValue(gateway) }
}
