/// Settings of the HTTP / WebSocket edge.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind (EG_IP).
    public var host: String
    /// Port to bind (EG_PORT).
    public var port: Int
    /// Prefix of every route, normalized to start and end with `/` (EG_BASE_URL).
    public var basePath: String
    /// Required token; empty = no authentication, which the `gateway` command allows only with
    /// `--allow-unauthenticated` (EG_AUTH_TOKEN).
    public var authToken: String
    /// Whether `GET /api/kernels` and `GET /api/sessions` are allowed (EG_LIST_KERNELS).
    public var listKernels: Bool
    /// Largest accepted request body in bytes (larger → 413).
    public var maxBodySize: Int
    /// Largest accepted WebSocket message in bytes (larger → connection closed with 1009). The default is
    /// tornado's, so the gateway accepts nothing jupyter_server itself would refuse.
    public var maxMessageSize: Int
    /// WebSocket ping interval; zero disables pings.
    public var pingInterval: Duration
    /// CORS headers.
    public var cors: CORSConfiguration
    /// PEM certificate chain for HTTPS; nil = plain HTTP.
    public var certificateFile: String?
    /// PEM private key for HTTPS.
    public var keyFile: String?
    /// PEM CA bundle: with HTTPS, clients must present a certificate it signed (EG_CLIENT_CA).
    public var clientCAFile: String?
    /// Which browser-originated requests are accepted (origins, `Host` on loopback, form-like bodies).
    public var browserPolicy: BrowserRequestPolicy
    /// Header deadline and connection cap.
    public var connectionLimits: ConnectionLimits
    /// An HTTP connection with no request in flight for this long is closed; nil = never.
    public var idleTimeout: Duration?
    /// Most sessions kept at once (each names a kernel); beyond it `POST /api/sessions` answers 403.
    public var maxSessions: Int

    /// Creates a configuration with the documented defaults.
    public init(host: String = "127.0.0.1", port: Int = 8888, basePath: String = "/", authToken: String = "",
                listKernels: Bool = true, maxBodySize: Int = 1 << 20, maxMessageSize: Int = 10 << 20,
                pingInterval: Duration = .seconds(30), cors: CORSConfiguration = .init(),
                certificateFile: String? = nil, keyFile: String? = nil, clientCAFile: String? = nil,
                browserPolicy: BrowserRequestPolicy = .init(), connectionLimits: ConnectionLimits = .init(),
                idleTimeout: Duration? = .seconds(120), maxSessions: Int = 1000) {
        self.host = host
        self.port = port
        self.basePath = Self.normalize(basePath)
        self.authToken = authToken
        self.listKernels = listKernels
        self.maxBodySize = maxBodySize
        self.maxMessageSize = maxMessageSize
        self.pingInterval = pingInterval
        self.cors = cors
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.browserPolicy = browserPolicy
        self.connectionLimits = connectionLimits
        self.idleTimeout = idleTimeout
        self.maxSessions = maxSessions
    }

    /// `gw` / `/gw` / `/gw/` → `/gw/`; empty → `/`.
    public static func normalize(_ base: String) -> String {
        let trimmed = base.split(separator: "/").joined(separator: "/")
        return trimmed.isEmpty ? "/" : "/" + trimmed + "/"
    }
}
