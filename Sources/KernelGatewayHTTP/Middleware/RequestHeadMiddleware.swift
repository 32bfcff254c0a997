import Hummingbird

/// Tells the connection's `ConnectionGuardHandler` that a complete request head arrived, so its header
/// deadline stops (the idle timeout governs the connection from then on).
struct RequestHeadMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    /// Signals the connection's handler, then passes the request on unchanged.
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.channel.triggerUserOutboundEvent(RequestHeadReceived(), promise: nil)
        return try await next(request, context)
    }
}
