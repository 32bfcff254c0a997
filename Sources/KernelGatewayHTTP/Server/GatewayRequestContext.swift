import Hummingbird
import KernelGateway
import HummingbirdWebSocket
import NIOCore

/// The request context of every route: Hummingbird's basic context plus the connection's channel,
/// which a refused WebSocket upgrade needs to answer with a real status (see `UpgradeErrorMiddleware`).
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<GatewayRequestContext>
    /// The client connection.
    public let channel: any Channel
    /// Who the request acts as, set by the authentication middleware (WebSocket upgrades included); until then
    /// ``UserIdentity/nobody``, which sees nothing.
    public var identity: UserIdentity = .nobody

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
