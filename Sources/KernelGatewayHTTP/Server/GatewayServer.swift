import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import KernelGateway
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Builds the gateway's HTTP + WebSocket application: routes under `base_url`, JSON errors, token
/// auth, CORS, optional TLS.
public enum GatewayServer {
    /// Builds the application (the HTTP server). The kernel manager is not one of its services: the
    /// caller composes both in one `ServiceGroup` so that, on SIGTERM, kernels (and starts in flight) are
    /// stopped before the server drains its requests. `users` resolves tokens to identities; by default only the
    /// settings' single token (an admin) is accepted. `metrics` must be the exposition whose ``MetricsExposition/metrics``
    /// the manager records into.
    public static func makeApplication(
        settings: HTTPServerConfiguration, manager: KernelManager, users: UserRegistry? = nil, metrics: MetricsExposition,
        services: [any Service] = [], logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = makeRouter(settings: settings, manager: manager, users: users, metrics: metrics)
        let secure = settings.certificateFile != nil
        let wsConfiguration = WebSocketServerConfiguration(
            maxFrameSize: settings.maxMessageSize,
            autoPing: settings.pingInterval > .zero ? .enabled(timePeriod: settings.pingInterval) : .disabled)
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(additionalChannelHandlers: [InputClosedHandler()], idleTimeout: settings.idleTimeout.map { TimeAmount($0) }), ws: wsConfiguration)
        let tls = try secure ? GatewayTLS.serverConfiguration(settings) : nil
        let webSocketResponder = router.buildResponder()
        let limits = settings.connectionLimits
        let counter = ConnectionCounter()
        let server = HTTPServerBuilder { responder in
            let http = HTTP1WebSocketUpgradeChannel(
                responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration)
            if let tls {
                return GuardedChildChannel(base: try TLSChannel(http, tlsConfiguration: tls), limits: limits, counter: counter)
            }
            return GuardedChildChannel(base: http, limits: limits, counter: counter)
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }

    /// The router of every route the gateway serves (``GatewayServer/makeApplication(settings:manager:users:metrics:services:logger:onServerRunning:)``'s;
    /// the OpenAPI document's test lists its routes). Open without a token: `/healthz`, `/readyz`.
    public static func makeRouter(
        settings: HTTPServerConfiguration, manager: KernelManager, users: UserRegistry? = nil, metrics: MetricsExposition
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        let secure = settings.certificateFile != nil
        router.add(middleware: RequestHeadMiddleware())
        router.add(middleware: UpgradeErrorMiddleware())
        router.add(middleware: BrowserRequestMiddleware(policy: settings.browserPolicy, secure: secure))
        router.add(middleware: CORSMiddleware(configuration: settings.cors))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(
            users: users ?? UserRegistry(adminToken: settings.authToken), openPaths: [settings.basePath + "healthz", settings.basePath + "readyz"]))
        let group = router.group(RouterPath(settings.basePath))
        ServiceRoutes(manager: manager).register(on: group)
        KernelRoutes(manager: manager, settings: settings).register(on: group)
        KernelSpecRoutes(manager: manager, settings: settings).register(on: group)
        SessionRoutes(manager: manager, store: SessionStore(limit: settings.maxSessions), settings: settings).register(on: group)
        MetricsRoutes(manager: manager, exposition: metrics, adminOnly: true).register(on: group, identity: { $0.identity })
        APIDocumentRoutes().register(on: group)
        ChannelsHandler(manager: manager, settings: settings, metrics: metrics.metrics).register(on: router)
        return router
    }
}
