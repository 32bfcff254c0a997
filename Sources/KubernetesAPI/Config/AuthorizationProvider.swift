import Foundation
import Synchronization

/// Produces the `Authorization` header value, re-reading a token file when it may have rotated.
///
/// Thread-safe; one per client.
final class AuthorizationProvider: Sendable {
    private struct CachedToken {
        var value: String
        var readAt: ContinuousClock.Instant
    }

    private let credentials: KubernetesConfiguration.Credentials
    private let cache = Mutex<CachedToken?>(nil)

    init(credentials: KubernetesConfiguration.Credentials) {
        self.credentials = credentials
    }

    /// Whether a 401 may be cured by re-reading credentials.
    var canRefresh: Bool {
        if case .tokenFile = credentials { return true }
        return false
    }

    /// The header value, or `nil` when there are no header credentials.
    /// - Throws: ``KubernetesError`` (`.unauthorized`) when the token file cannot be read.
    func authorization(now: ContinuousClock.Instant = .now) throws(KubernetesError) -> String? {
        switch credentials {
        case .none:
            return nil
        case .bearerToken(let token):
            return "Bearer \(token)"
        case .basic(let username, let password):
            return "Basic \(Data("\(username):\(password)".utf8).base64EncodedString())"
        case .tokenFile(let path, let refreshInterval):
            let cached = cache.withLock { $0 }
            if let cached, now - cached.readAt < refreshInterval {
                return "Bearer \(cached.value)"
            }
            let token: String
            do {
                token = try FileAccess.readString(path).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                // Keep using the last token if the file is briefly missing during a rotation.
                if let cached { return "Bearer \(cached.value)" }
                throw KubernetesError(kind: .unauthorized, message: "cannot read token file: \(error)")
            }
            cache.withLock { $0 = CachedToken(value: token, readAt: now) }
            return "Bearer \(token)"
        }
    }

    /// Forgets the cached token so that the next request re-reads the file (after a 401).
    func invalidate() {
        cache.withLock { $0 = nil }
    }
}
