import Foundation
import Hummingbird
import KernelGateway

/// Token authentication: `Authorization: token T`, `Authorization: Bearer T` or `?token=T`, resolved to an identity
/// (the gateway's own token or a user's, see ``UserRegistry``) stored on the request context for the routes and the
/// WebSocket upgrade. Probes (`/healthz`, `/readyz`) and CORS preflights (`OPTIONS`) need no token; a gateway with
/// no token and no users (`--allow-unauthenticated`) treats every request as an admin with no name.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    /// Resolves tokens to identities; says whether any token is needed at all.
    let users: UserRegistry
    /// Paths served without a token (full paths, base path included): the probes.
    let openPaths: Set<String>

    /// Stores the caller's identity on the context and passes the request on, or throws a 401 when a token is
    /// needed and none (or an unknown one) was presented.
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

    /// The token a request presents: the `Authorization` header's (`token` or `Bearer` scheme, any case) before
    /// the `token` query parameter (which browsers' WebSocket clients must use); nil when there is none.
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
