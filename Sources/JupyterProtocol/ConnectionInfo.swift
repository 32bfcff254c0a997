/// A kernel's connection file (jupyter_client format).
///
/// Codable with the snake_case JSON keys `shell_port`, `iopub_port`, `stdin_port`, `control_port`, `hb_port`, `ip`,
/// `key`, `transport`, `signature_scheme`, `kernel_name`. When decoding, `transport` defaults to `tcp`,
/// `signature_scheme` to `hmac-sha256`, `key` to empty and `kernel_name` to `nil`; unknown keys are ignored.
public struct ConnectionInfo: Codable, Sendable, Equatable {
    /// The kernel's sockets.
    public enum Socket: String, Sendable, CaseIterable {
        /// Shell ROUTER.
        case shell
        /// IOPub PUB.
        case iopub
        /// Stdin ROUTER.
        case stdin
        /// Control ROUTER.
        case control
        /// Heartbeat REP.
        case hb
    }

    /// Shell socket port.
    public var shellPort: Int
    /// IOPub socket port.
    public var iopubPort: Int
    /// Stdin socket port.
    public var stdinPort: Int
    /// Control socket port.
    public var controlPort: Int
    /// Heartbeat socket port.
    public var hbPort: Int
    /// The kernel's IP address (or IPC path prefix for the `ipc` transport).
    public var ip: String
    /// The HMAC key, used as UTF-8 bytes; empty disables signing.
    public var key: String
    /// The ZeroMQ transport, `tcp` or `ipc`.
    public var transport: String
    /// The signature scheme, e.g. `hmac-sha256`.
    public var signatureScheme: String
    /// The kernelspec name, if recorded.
    public var kernelName: String?

    /// Creates connection info.
    public init(shellPort: Int, iopubPort: Int, stdinPort: Int, controlPort: Int, hbPort: Int,
                ip: String = "127.0.0.1", key: String, transport: String = "tcp",
                signatureScheme: String = "hmac-sha256", kernelName: String? = nil) {
        self.shellPort = shellPort
        self.iopubPort = iopubPort
        self.stdinPort = stdinPort
        self.controlPort = controlPort
        self.hbPort = hbPort
        self.ip = ip
        self.key = key
        self.transport = transport
        self.signatureScheme = signatureScheme
        self.kernelName = kernelName
    }

    private enum CodingKeys: String, CodingKey {
        case shellPort = "shell_port"
        case iopubPort = "iopub_port"
        case stdinPort = "stdin_port"
        case controlPort = "control_port"
        case hbPort = "hb_port"
        case ip
        case key
        case transport
        case signatureScheme = "signature_scheme"
        case kernelName = "kernel_name"
    }

    /// Decodes a connection file, applying the defaults described on the type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        shellPort = try container.decode(Int.self, forKey: .shellPort)
        iopubPort = try container.decode(Int.self, forKey: .iopubPort)
        stdinPort = try container.decode(Int.self, forKey: .stdinPort)
        controlPort = try container.decode(Int.self, forKey: .controlPort)
        hbPort = try container.decode(Int.self, forKey: .hbPort)
        ip = try container.decodeIfPresent(String.self, forKey: .ip) ?? "127.0.0.1"
        key = try container.decodeIfPresent(String.self, forKey: .key) ?? ""
        transport = try container.decodeIfPresent(String.self, forKey: .transport) ?? "tcp"
        signatureScheme = try container.decodeIfPresent(String.self, forKey: .signatureScheme) ?? "hmac-sha256"
        kernelName = try container.decodeIfPresent(String.self, forKey: .kernelName)
    }

    /// Encodes with the snake_case keys (omitting `kernel_name` when `nil`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(shellPort, forKey: .shellPort)
        try container.encode(iopubPort, forKey: .iopubPort)
        try container.encode(stdinPort, forKey: .stdinPort)
        try container.encode(controlPort, forKey: .controlPort)
        try container.encode(hbPort, forKey: .hbPort)
        try container.encode(ip, forKey: .ip)
        try container.encode(key, forKey: .key)
        try container.encode(transport, forKey: .transport)
        try container.encode(signatureScheme, forKey: .signatureScheme)
        try container.encodeIfPresent(kernelName, forKey: .kernelName)
    }

    /// The port of one of the kernel's sockets.
    public func port(for socket: Socket) -> Int {
        switch socket {
        case .shell: shellPort
        case .iopub: iopubPort
        case .stdin: stdinPort
        case .control: controlPort
        case .hb: hbPort
        }
    }

    /// The ZeroMQ endpoint for a port: `tcp://ip:port` (IPv6 addresses bracketed), or `ipc://ip-port` for `ipc`.
    public func endpoint(for port: Int) -> String {
        if transport == "ipc" { return "ipc://\(ip)-\(port)" }
        let host = ip.contains(":") && !ip.hasPrefix("[") ? "[\(ip)]" : ip
        return "\(transport)://\(host):\(port)"
    }

    /// The ZeroMQ endpoint of one of the kernel's sockets.
    public func endpoint(for socket: Socket) -> String {
        endpoint(for: port(for: socket))
    }

    /// A signer for this kernel's key and signature scheme.
    /// - Throws: ``ProtocolError/unknownSignatureScheme(_:)`` for an unsupported scheme.
    public func makeSigner() throws(ProtocolError) -> MessageSigner {
        try MessageSigner(key: Array(key.utf8), scheme: signatureScheme)
    }
}
