import KubernetesAPI

/// `spec` of a JupyterNotebook: elastic-jupyter-operator's fields plus ours.
public struct JupyterNotebookSpec: Codable, Sendable, Hashable {
    /// The JupyterGateway running the kernels; `nil` runs kernels inside the notebook pod.
    public var gateway: ObjectReference?
    /// A `PodTemplateSpec` merged into the notebook pod.
    public var template: KubeJSON?
    /// JupyterLab image.
    public var image: String?
    /// Image pull policy of the JupyterLab container.
    public var imagePullPolicy: String?
    /// CPU request.
    public var cpu: IntOrString?
    /// Memory request (and limit).
    public var memory: IntOrString?
    /// Full `ResourceRequirements` of the JupyterLab container.
    public var resources: KubeJSON?
    /// The Java operator's (seed 000) name for ``cpu``; ``cpu`` wins when both are set.
    public var cpuRequest: IntOrString?
    /// The Java operator's name for ``memory`` (a request only); ``memory`` wins when both are set.
    public var memoryRequest: IntOrString?
    /// The Java operator's name for `storage.size`; `storage.size` wins when both are set.
    public var storageSize: IntOrString?
    /// The notebook's user on its gateway (its users entry, `KERNEL_USERNAME`); default `<namespace>-<name>`
    /// (``NotebookIdentity/user(of:)``).
    public var user: String?
    /// JupyterLab's token.
    public var auth: Auth?
    /// The persistent work directory.
    public var storage: Storage?
    /// Service type and annotations.
    public var service: ServiceSettings?
    /// Stopped: JupyterLab scaled to zero, its claim kept, its user's kernels shut down and its token refused by the
    /// gateway until it is started again (`false`).
    public var stopped: Bool?
    /// Seconds without activity (jupyter_server's `/api/status` `last_activity`) after which the controller stops the
    /// notebook as `stopped: true` does and records the cull; `nil` or 0: never.
    public var cullIdleServerAfter: Int?
    /// An optional Ingress in front of the notebook Service (the gateway's settings).
    public var ingress: JupyterGatewaySpec.IngressSettings?

    /// Creates an empty spec (all defaults).
    public init() {}

    /// JupyterLab's own authentication.
    public struct Auth: Codable, Sendable, Hashable {
        /// `enable` (default) or `disable`.
        public var mode: String?
        /// A fixed token.
        public var token: String?
        /// An existing Secret whose key `token` holds the token.
        public var secretName: String?
        /// A login password (upstream field): kept only hashed, in the notebook's Secret (``PasswordHash``); a value
        /// that already is a jupyter_server hash (`argon2:…`, `sha256:salt:digest`) is kept as it is.
        public var password: String?

        /// Creates settings.
        public init(mode: String? = nil, token: String? = nil, secretName: String? = nil, password: String? = nil) {
            self.mode = mode
            self.token = token
            self.secretName = secretName
            self.password = password
        }
    }

    /// The work-directory volume.
    public struct Storage: Codable, Sendable, Hashable {
        /// Whether a volume is attached. Default `true`.
        public var enabled: Bool?
        /// Requested size. Default `10Gi`.
        public var size: IntOrString?
        /// Storage class (cluster default when unset).
        public var storageClassName: String?
        /// Access modes. Default `[ReadWriteOnce]`.
        public var accessModes: [String]?
        /// An existing claim to re-attach instead of `<name>-work`.
        public var existingClaim: String?
        /// Mount path. Default `/home/jovyan/work`.
        public var mountPath: String?
        /// `Retain` (default: the claim outlives the notebook) or `Delete`.
        public var reclaimPolicy: String?

        /// Creates settings.
        public init(enabled: Bool? = nil, size: IntOrString? = nil, existingClaim: String? = nil, reclaimPolicy: String? = nil) {
            self.enabled = enabled
            self.size = size
            self.existingClaim = existingClaim
            self.reclaimPolicy = reclaimPolicy
        }
    }
}

extension JupyterNotebookSpec {
    /// Port of JupyterLab (container and Service).
    public static let port = 8888
    /// Schema default of `storage.size`.
    public static let defaultStorageSize = "10Gi"
    /// CPU request of a notebook that sets none anywhere (the Java operator's default).
    public static let defaultCPURequest = "500m"
    /// Memory request of a notebook that sets none anywhere (the Java operator's default).
    public static let defaultMemoryRequest = "1Gi"
    /// Largest `cullIdleServerAfter` (30 days); the schema refuses more, the controller clamps.
    public static let maxCullIdleServerAfter = 2_592_000
    /// Longest `auth.password` (bytes); the schema refuses more, the controller refuses it with a condition.
    public static let maxPasswordLength = 1024
    /// Schema default of `storage.mountPath`.
    public static let defaultMountPath = "/home/jovyan/work"
}
