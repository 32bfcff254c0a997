/// Everything needed to reach an API server: where, who, how to trust it, and time limits.
///
/// Build one with ``inCluster(environment:serviceAccountDirectory:)``, ``kubeconfig(path:context:environment:)``
/// or ``load(environment:)`` (in-cluster when running in a pod, else kubeconfig), or by hand.
public struct KubernetesConfiguration: Sendable {
    /// How the client authenticates.
    public enum Credentials: Sendable, Hashable {
        /// No credentials (e.g. a plain-HTTP test server, or client certificates only).
        case none
        /// A fixed bearer token.
        case bearerToken(String)
        /// A bearer token read from a file and re-read when it may have rotated: at most every
        /// `refreshInterval`, and at once after a 401.
        case tokenFile(path: String, refreshInterval: Duration)
        /// HTTP basic authentication.
        case basic(username: String, password: String)
    }

    /// TLS settings.
    public struct TLS: Sendable, Hashable {
        /// PEM bundle of CA certificates to trust; `nil` means the system roots.
        public var certificateAuthorityPEM: [UInt8]?
        /// PEM client certificate (chain) for mutual TLS.
        public var clientCertificatePEM: [UInt8]?
        /// PEM private key of the client certificate.
        public var clientKeyPEM: [UInt8]?
        /// Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). Default `false`.
        public var insecureSkipVerify: Bool

        /// Creates TLS settings.
        /// - Parameters:
        ///   - certificateAuthorityPEM: CA bundle (PEM), `nil` for system roots.
        ///   - clientCertificatePEM: Client certificate (PEM).
        ///   - clientKeyPEM: Client key (PEM).
        ///   - insecureSkipVerify: Skip verification. Default `false`.
        public init(
            certificateAuthorityPEM: [UInt8]? = nil, clientCertificatePEM: [UInt8]? = nil,
            clientKeyPEM: [UInt8]? = nil, insecureSkipVerify: Bool = false
        ) {
            self.certificateAuthorityPEM = certificateAuthorityPEM
            self.clientCertificatePEM = clientCertificatePEM
            self.clientKeyPEM = clientKeyPEM
            self.insecureSkipVerify = insecureSkipVerify
        }
    }

    /// Time limits.
    public struct Timeouts: Sendable, Hashable {
        /// TCP (and TLS) connection establishment. Default 5 s.
        public var connect: Duration
        /// Whole request, from sending to the last byte of the body (not for watches, which end by
        /// `timeoutSeconds` or cancellation; their response head must still arrive within this). Default 30 s.
        public var request: Duration

        /// Creates time limits.
        /// - Parameters:
        ///   - connect: Connect timeout. Default 5 s.
        ///   - request: Per-request deadline. Default 30 s.
        public init(connect: Duration = .seconds(5), request: Duration = .seconds(30)) {
            self.connect = connect
            self.request = request
        }
    }

    /// Base URL of the API server, e.g. `https://10.0.0.1:443` or `http://127.0.0.1:8001` (may carry a path prefix).
    public var server: String
    /// Namespace used when an operation is given none. Default `default`.
    public var namespace: String
    /// Credentials. Default none.
    public var credentials: Credentials
    /// TLS settings (ignored for `http://` servers).
    public var tls: TLS
    /// Time limits.
    public var timeouts: Timeouts
    /// Upper bound on HTTP/1.1 connections to the server (each open watch holds one). Default 64.
    public var maxConnections: Int
    /// Largest accepted non-watch response body, in bytes. Default 64 MiB.
    public var maxResponseBytes: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - server: Base URL of the API server.
    ///   - namespace: Default namespace. Default `default`.
    ///   - credentials: Credentials. Default none.
    ///   - tls: TLS settings. Default system roots, no client certificate.
    ///   - timeouts: Time limits.
    ///   - maxConnections: Connection limit. Default 64.
    ///   - maxResponseBytes: Body size limit. Default 64 MiB.
    public init(
        server: String,
        namespace: String = "default",
        credentials: Credentials = .none,
        tls: TLS = TLS(),
        timeouts: Timeouts = Timeouts(),
        maxConnections: Int = 64,
        maxResponseBytes: Int = 64 << 20
    ) {
        self.server = server
        self.namespace = namespace
        self.credentials = credentials
        self.tls = tls
        self.timeouts = timeouts
        self.maxConnections = maxConnections
        self.maxResponseBytes = maxResponseBytes
    }

    /// In-cluster configuration when `KUBERNETES_SERVICE_HOST` is set, else the kubeconfig
    /// (`KUBECONFIG` or `~/.kube/config`).
    /// - Parameter environment: Environment variables (pass `ProcessInfo.processInfo.environment`).
    /// - Throws: ``KubernetesConfigurationError``.
    public static func load(environment: [String: String]) throws(KubernetesConfigurationError) -> KubernetesConfiguration {
        if let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty {
            return try inCluster(environment: environment)
        }
        return try kubeconfig(environment: environment)
    }
}
