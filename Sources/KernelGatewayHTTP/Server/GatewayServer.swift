import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import KernelGateway
import Logging
import NIOSSL
import ServiceLifecycle

/// Builds the gateway's HTTP + WebSocket application: routes under `base_url`, JSON errors, token
/// auth, CORS, optional TLS. The kernel manager runs as one of the application's services, so SIGTERM
/// stops the server and then every kernel.
public enum GatewayServer {
    /// Errors setting the server up.
    public enum SetupError: Error, CustomStringConvertible {
        case tls(String)
        public var description: String {
            switch self { case .tls(let text): return "TLS setup failed: \(text)" }
        }
    }

    /// Builds the application (the HTTP server). The kernel manager is not one of its services: the
    /// caller composes both in one `ServiceGroup` so that, on SIGTERM, kernels (and starts in flight) are
    /// stopped before the server drains its requests.
    public static func makeApplication(
        settings: HTTPServerConfiguration, manager: KernelManager, services: [any Service] = [], logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: UpgradeErrorMiddleware())
        router.add(middleware: CORSMiddleware(configuration: settings.cors))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(
            token: settings.authToken, openPaths: [settings.basePath + "healthz", settings.basePath + "readyz"]))
        let group = router.group(RouterPath(settings.basePath))
        ServiceRoutes(manager: manager).register(on: group)
        KernelRoutes(manager: manager, settings: settings).register(on: group)
        KernelSpecRoutes(manager: manager, settings: settings).register(on: group)
        SessionRoutes(manager: manager, store: SessionStore(), settings: settings).register(on: group)
        ChannelsHandler(manager: manager, settings: settings).register(on: router)

        let wsConfiguration = WebSocketServerConfiguration(
            maxFrameSize: settings.maxMessageSize,
            autoPing: settings.pingInterval > .zero ? .enabled(timePeriod: settings.pingInterval) : .disabled)
        var server: HTTPServerBuilder = .http1WebSocketUpgrade(
            webSocketRouter: router,
            configuration: .init(http1: .init(additionalChannelHandlers: [InputClosedHandler()]), ws: wsConfiguration))
        if let certificateFile = settings.certificateFile {
            guard let keyFile = settings.keyFile else { throw SetupError.tls("--keyfile is required with --certfile") }
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
                let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                server = try .tls(server, tlsConfiguration: tls)
            } catch {
                throw SetupError.tls("\(error)")
            }
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? settings.port) },
            logger: logger)
    }
}
