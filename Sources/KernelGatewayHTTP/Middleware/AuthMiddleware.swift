import Crypto
import Foundation
import Hummingbird

/// Token authentication: `Authorization: token T`, `Authorization: Bearer T` or `?token=T`, compared in
/// constant time. Probes (`/healthz`, `/readyz`) and CORS preflights (`OPTIONS`) need no token.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    let openPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if token.isEmpty || request.method == .options || openPaths.contains(request.uri.path) {
            return try await next(request, context)
        }
        guard let presented = Self.presentedToken(request), Self.constantTimeEquals(presented, token) else {
            throw APIError(.unauthorized, "Authentication required: a valid token is missing")
        }
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

    /// Compares via HMAC digests so the time does not depend on where the strings differ.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let key = SymmetricKey(size: .bits256)
        let macA = HMAC<SHA256>.authenticationCode(for: Data(a.utf8), using: key)
        return HMAC<SHA256>.isValidAuthenticationCode(macA, authenticating: Data(b.utf8), using: key)
    }
}
