import KubernetesAPI

/// `spec` of a JupyterGateway: every field of elastic-jupyter-operator's, plus ours.
/// Absent fields take the schema defaults through ``ResolvedGateway`` (the controller applies them too,
/// so objects stored without server-side defaulting behave the same).
public struct JupyterGatewaySpec: Codable, Sendable, Hashable {
    /// JupyterKernelSpec names offered (and allowed); empty means the built-in `python_kubernetes`.
    public var kernels: [String]?
    /// Kernelspec started when a client names none. Default `python_kubernetes`.
    public var defaultKernel: String?
    /// Idle seconds before a kernel is culled; 0 or less disables culling. Default 3600.
    public var cullIdleTimeout: Int?
    /// Seconds between culling passes (gateway default when unset).
    public var cullInterval: Int?
    /// Cull idle kernels with a client connected.
    public var cullConnected: Bool?
    /// Cull idle kernels while busy.
    public var cullBusy: Bool?
    /// Seconds after which any kernel is culled, even an active one (JupyterHub's `cull.maxAge`); 0 or unset = never.
    public var cullMaxAge: Int?
    /// Gateway image.
    public var image: String?
    /// Image pull policy of the gateway container.
    public var imagePullPolicy: String?
    /// Kernel image of the built-in kernelspec and of kernelspecs naming none.
    public var kernelImage: String?
    /// Accepted for compatibility; unused.
    public var clusterRole: String?
    /// `DEBUG`, `INFO` (default), `WARNING`, `ERROR` or `CRITICAL`.
    public var logLevel: String?
    /// Gateway replicas (any replica serves any kernel). Default 1; more than ``RenderSettings/maximumGatewayReplicas``
    /// (10) are clamped with the condition `ReplicasClamped`. Two or more get a PodDisruptionBudget.
    public var replicas: Int?
    /// Seconds a kernel may take to start. Default 60.
    public var kernelLaunchTimeout: Int?
    /// Most kernels at once (0 = unlimited).
    public var maxKernels: Int?
    /// Most kernels per user (0 = unlimited).
    public var maxKernelsPerUser: Int?
    /// Gateway container resources (`ResourceRequirements`).
    public var resources: KubeJSON?
    /// A user-provided Secret with the auth token; default a generated `<name>-auth`.
    public var authTokenSecret: SecretKeyReference?
    /// HTTPS from a `kubernetes.io/tls` Secret.
    public var tls: TLSSettings?
    /// Service type and annotations.
    public var service: ServiceSettings?
    /// An optional Ingress.
    public var ingress: IngressSettings?
    /// Other namespaces whose JupyterNotebooks may use this gateway (its own namespace always may).
    public var allowedNamespaces: AllowedNamespaces?
    /// What JupyterKernelSpecs and JupyterKernelTemplates may put on kernel pods beyond the safe default.
    public var kernelPolicy: KernelPolicy?
    /// Pulling the offered kernelspecs' images on the nodes their kernels can run on, ahead of the first kernel.
    public var prePull: PrePullSettings?

    /// Creates an empty spec (all defaults).
    public init() {}

    /// Whether the offered kernelspecs' images are pre-pulled (`spec.prePull.enabled`, default on).
    public var prePullEnabled: Bool { prePull?.enabled ?? true }

    /// Image pre-pulling: one DaemonSet per scheduling profile of the offered kernelspecs.
    public struct PrePullSettings: Codable, Sendable, Hashable {
        /// Pre-pull the images (default `true`); `false` deletes the pre-pull DaemonSets.
        public var enabled: Bool?

        /// Creates settings.
        /// - Parameter enabled: Whether to pre-pull.
        public init(enabled: Bool? = nil) { self.enabled = enabled }
    }

    /// TLS of the gateway.
    public struct TLSSettings: Codable, Sendable, Hashable {
        /// A `kubernetes.io/tls` Secret in the gateway's namespace.
        public var secretName: String

        /// Creates settings.
        /// - Parameter secretName: The TLS Secret.
        public init(secretName: String) { self.secretName = secretName }
    }

    /// An Ingress in front of the gateway Service.
    public struct IngressSettings: Codable, Sendable, Hashable {
        /// Host name.
        public var host: String
        /// Path prefix. Default `/`.
        public var path: String?
        /// Ingress class.
        public var ingressClassName: String?
        /// Annotations of the Ingress.
        public var annotations: [String: String]?
        /// Secret with the Ingress's TLS certificate.
        public var tlsSecretName: String?

        /// Creates settings.
        /// - Parameter host: Host name.
        public init(host: String) { self.host = host }
    }
}

extension JupyterGatewaySpec {
    /// Schema default of `defaultKernel`, and the name of the built-in kernelspec.
    public static let builtInKernel = "python_kubernetes"
    /// Schema default of `cullIdleTimeout`.
    public static let defaultCullIdleTimeout = 3600
    /// Schema default of `kernelLaunchTimeout`.
    public static let defaultLaunchTimeout = 60
    /// Port of the gateway (container and Service).
    public static let port = 8888
    /// Port of the gateway's metrics listener (`EJ_METRICS_PORT`: `/metrics` only, no token), scraped through the
    /// pod's `prometheus.io/*` annotations; not on the Service.
    public static let metricsPort = 8080
}
