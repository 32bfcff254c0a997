import AsyncHTTPClient
import Logging
import NIOCore
import NIOSSL

/// A client of the Kubernetes API: typed get / list / watch / create / update / patch / delete on any
/// resource named by a ``ResourceDescriptor``.
///
/// Errors thrown by operations are ``KubernetesError`` (or `CancellationError` when the calling task is
/// cancelled). Requests are retried per the ``RetryPolicy``; each has a deadline
/// (``KubernetesConfiguration/Timeouts``). Call ``shutdown()`` when done (or use
/// ``withClient(configuration:retryPolicy:logger:_:)``).
public final class KubernetesClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: KubernetesConfiguration
    /// The retry policy.
    public let retryPolicy: RetryPolicy
    /// The logger for requests, retries and watches (library events are logged at debug/info).
    public let logger: Logger
    /// Told of every failed attempt of a request (retried or not), with its verb: `get`, `watch`, `create`,
    /// `update`, `patch` or `delete`. For metrics; must return quickly.
    public let errorObserver: ErrorObserver?

    /// What ``errorObserver`` is called with.
    public typealias ErrorObserver = @Sendable (_ verb: String, _ error: KubernetesError) -> Void

    let httpClient: HTTPClient
    let authorization: AuthorizationProvider
    let baseURL: String

    /// Namespace used when an operation on a namespaced resource is given none.
    public var defaultNamespace: String { configuration.namespace }

    /// Creates a client (no connection is made yet).
    /// - Parameters:
    ///   - configuration: Server, credentials, TLS and timeouts.
    ///   - retryPolicy: Retries for failed requests. Default ``RetryPolicy/default``.
    ///   - logger: Logger. Default label `KubernetesAPI`.
    ///   - errorObserver: Told of every failed attempt (see ``errorObserver``).
    /// - Throws: ``KubernetesConfigurationError/invalidCertificate(_:)`` when the PEM material is unusable.
    public init(
        configuration: KubernetesConfiguration,
        retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "KubernetesAPI"),
        errorObserver: ErrorObserver? = nil
    ) throws(KubernetesConfigurationError) {
        self.configuration = configuration
        self.retryPolicy = retryPolicy
        self.logger = logger
        self.errorObserver = errorObserver
        self.authorization = AuthorizationProvider(credentials: configuration.credentials)
        self.baseURL = configuration.server.hasSuffix("/") ? String(configuration.server.dropLast()) : configuration.server
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: try Self.makeTLSConfiguration(configuration.tls),
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.timeouts.connect), read: nil))
        httpConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.maxConnections))
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// Closes connections; call once, after the last request (open watches fail).
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    /// Runs `body` with a new client and shuts the client down afterwards, even on error.
    /// - Parameters:
    ///   - configuration: Client configuration.
    ///   - retryPolicy: Retry policy.
    ///   - logger: Logger.
    ///   - body: Work with the client.
    @discardableResult
    public static func withClient<Result: Sendable>(
        configuration: KubernetesConfiguration,
        retryPolicy: RetryPolicy = .default,
        logger: Logger = Logger(label: "KubernetesAPI"),
        _ body: (KubernetesClient) async throws -> Result
    ) async throws -> Result {
        let client = try KubernetesClient(configuration: configuration, retryPolicy: retryPolicy, logger: logger)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The namespace to use for a single-object request.
    func namespace(for resource: ResourceDescriptor, explicit: String?, object: String? = nil) -> String? {
        guard resource.namespaced else { return nil }
        if let explicit, !explicit.isEmpty { return explicit }
        if let object, !object.isEmpty { return object }
        return defaultNamespace
    }

    static func makeTLSConfiguration(_ tls: KubernetesConfiguration.TLS) throws(KubernetesConfigurationError)
        -> TLSConfiguration
    {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = tls.certificateAuthorityPEM {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let certificate = tls.clientCertificatePEM, let key = tls.clientKeyPEM {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw .invalidCertificate("\(error)")
        }
        if tls.insecureSkipVerify {
            configuration.certificateVerification = .none
        }
        return configuration
    }
}
