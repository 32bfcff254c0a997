import Foundation

/// Settings of the ``LaunchResponseListener``.
public struct LaunchResponseListenerConfiguration: Sendable, Equatable {
    /// Address to bind (`0.0.0.0`: every interface, as kernel pods connect to the gateway pod's IP).
    public var host: String
    /// Port to bind (`--response-port`, `EG_RESPONSE_PORT`); 0 picks a free one (tests).
    public var port: Int
    /// Most bytes one connection may send (the launchers send well under 2 KiB).
    public var maxPayloadBytes: Int
    /// Longest a connection may stay open; a sender still sending then is dropped.
    public var connectionTimeout: Duration
    /// Most connections served at once; more are closed at once.
    public var maxConnections: Int

    /// The port Enterprise Gateway uses.
    public static let defaultPort = 8877
    /// The environment variable of the port, as Enterprise Gateway names it.
    public static let portEnvironmentKey = "EG_RESPONSE_PORT"

    /// Creates a configuration.
    public init(host: String = "0.0.0.0", port: Int = LaunchResponseListenerConfiguration.defaultPort,
                maxPayloadBytes: Int = 65_536, connectionTimeout: Duration = .seconds(10), maxConnections: Int = 64) {
        self.host = host
        self.port = port
        self.maxPayloadBytes = maxPayloadBytes
        self.connectionTimeout = connectionTimeout
        self.maxConnections = maxConnections
    }

    /// Parses a port setting (`--response-port` or `EG_RESPONSE_PORT`): an integer in 1–65535.
    public static func port(_ text: String) -> Int? {
        guard let port = Int(text.trimmingCharacters(in: .whitespaces)), (1...65_535).contains(port) else { return nil }
        return port
    }
}
