import Hummingbird
import HummingbirdCore
import Logging

/// The HTTP endpoints for the controller's own probes and metrics: `/healthz` (the process serves),
/// `/readyz` (a standby, or a leader with synced caches) and `/metrics` (Prometheus text).
public enum ProbeServer {
    /// Which endpoints a server serves.
    public struct Endpoints: OptionSet, Sendable {
        /// The option bits.
        public let rawValue: Int
        /// Creates a set.
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `/healthz` and `/readyz`.
        public static let health = Endpoints(rawValue: 1)
        /// `/metrics`.
        public static let metrics = Endpoints(rawValue: 2)
    }

    /// An HTTP server (a `Service`).
    /// - Parameters:
    ///   - host: Address to listen on.
    ///   - port: Port.
    ///   - endpoints: What to serve.
    ///   - health: Probe state.
    ///   - metrics: The registry.
    ///   - logger: Logger.
    public static func make(
        host: String, port: Int, endpoints: Endpoints, health: HealthState, metrics: ControllerMetrics, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        if endpoints.contains(.health) {
            router.get("healthz") { _, _ -> String in "ok\n" }
            router.get("readyz") { _, _ -> String in
                guard health.isReady else { throw HTTPError(.serviceUnavailable, message: "not ready") }
                return "ok\n"
            }
        }
        if endpoints.contains(.metrics) {
            router.get("metrics") { _, _ -> String in metrics.render() }
        }
        // Probes and scrapes are tiny: a request head within 5 s, and no connection idle for more than 30 s.
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [ProbeConnectionDeadline(deadline: .seconds(5))], idleTimeout: .seconds(30))
        return Application(
            router: router,
            server: .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                logger.info("probe server listening", metadata: [
                    "address": "\(host):\(channel.localAddress?.port ?? port)",
                    "endpoints": "\(endpoints.contains(.health) ? "healthz,readyz " : "")\(endpoints.contains(.metrics) ? "metrics" : "")",
                ])
            },
            logger: logger)
    }
}
