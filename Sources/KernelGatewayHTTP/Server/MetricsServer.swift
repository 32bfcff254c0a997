import Hummingbird
import HummingbirdCore
import KernelGateway
import Logging

/// The `--metrics-port` listener: `GET /metrics` without a token and nothing else (every other path is 404),
/// plain HTTP on the gateway's own address, for a Prometheus scraper that a NetworkPolicy admits. An
/// `Application`, so a `Service` composed in the gateway's `ServiceGroup`.
public enum MetricsServer {
    /// Builds the listener.
    /// - Parameters:
    ///   - host: Address to bind (the gateway's).
    ///   - port: Port to bind (`--metrics-port`).
    ///   - manager: Whose kernels the scrape-time metrics describe.
    ///   - exposition: The metrics.
    ///   - logger: Logger.
    ///   - onServerRunning: Called with the bound port.
    public static func make(
        host: String, port: Int, manager: KernelManager, exposition: MetricsExposition, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: RequestHeadMiddleware())
        router.add(middleware: ErrorMiddleware())
        MetricsRoutes(manager: manager, exposition: exposition, adminOnly: false)
            .register(on: router.group(), identity: { $0.identity })
        // Scrapes are small: a request head within 5 s, at most 16 connections, none idle for more than 30 s.
        let limits = ConnectionLimits(headerTimeout: .seconds(5), maxConnections: 16)
        let counter = ConnectionCounter()
        let server = HTTPServerBuilder { responder in
            GuardedChildChannel(base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .seconds(30))),
                                limits: limits, counter: counter)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
