/// Settings of the HTTP / WebSocket edge.
public struct HTTPServerConfiguration: Sendable {
    /// Address to bind (EG_IP).
    public var host: String
    /// Port to bind (EG_PORT).
    public var port: Int
    /// Prefix of every route, normalized to start and end with `/` (EG_BASE_URL).
    public var basePath: String
    /// Required token; empty = no authentication (EG_AUTH_TOKEN).
    public var authToken: String
    /// Whether `GET /api/kernels` and `GET /api/sessions` are allowed (EG_LIST_KERNELS).
    public var listKernels: Bool
    /// Largest accepted request body in bytes (larger → 413).
    public var maxBodySize: Int
    /// Largest accepted WebSocket message in bytes (larger → connection closed).
    public var maxMessageSize: Int
    /// WebSocket ping interval; zero disables pings.
    public var pingInterval: Duration
    /// CORS headers.
    public var cors: CORSConfiguration
    /// PEM certificate chain for HTTPS; nil = plain HTTP.
    public var certificateFile: String?
    /// PEM private key for HTTPS.
    public var keyFile: String?

    /// Creates a configuration with the documented defaults.
    public init(host: String = "127.0.0.1", port: Int = 8888, basePath: String = "/", authToken: String = "",
                listKernels: Bool = true, maxBodySize: Int = 1 << 20, maxMessageSize: Int = 128 << 20,
                pingInterval: Duration = .seconds(30), cors: CORSConfiguration = .init(),
                certificateFile: String? = nil, keyFile: String? = nil) {
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
    }

    /// `gw` / `/gw` / `/gw/` → `/gw/`; empty → `/`.
    public static func normalize(_ base: String) -> String {
        let trimmed = base.split(separator: "/").joined(separator: "/")
        return trimmed.isEmpty ? "/" : "/" + trimmed + "/"
    }
}
