import Foundation
import Hummingbird
import KernelGateway

/// Token authentication: `Authorization: token T`, `Authorization: Bearer T` or `?token=T`, resolved to an identity
/// (the gateway's own token or a user's, see ``UserRegistry``) stored on the request context for the routes and the
/// WebSocket upgrade. Probes (`/healthz`, `/readyz`) and CORS preflights (`OPTIONS`) need no token; a gateway with
/// no token and no users (`--allow-unauthenticated`) treats every request as an admin with no name.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let users: UserRegistry
    let openPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if !users.requiresToken {
            context.identity = .anonymousAdmin
            return try await next(request, context)
        }
        if request.method == .options || openPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let presented = Self.presentedToken(request), let identity = users.identity(forToken: presented) else {
            throw APIError(.unauthorized, "Authentication required: a valid token is missing")
        }
        context.identity = identity
        return try await next(request, context)
    }

    static func presentedToken(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let trimmed = header.trimmingCharacters(in: .whitespaces)
            for scheme in ["token ", "bearer "] where trimmed.lowercased().hasPrefix(scheme) {
                return String(trimmed.dropFirst(scheme.count)).trimmingCharacters(in: .whitespaces)
            }
        }
        return request.uri.queryParameters.get("token")
    }
}
