import Crypto
import Foundation
import Synchronization

/// Who may use the gateway, as it stands now: the gateway's own token (an admin), the users of the users file or
/// Secret (replaced whole on every good reload), or nobody checked at all (`--allow-unauthenticated`).
/// Thread-safe: the HTTP edge reads it on every request while a watcher replaces the users.
public final class UserRegistry: Sendable {
    private let adminToken: String
    private let usersConfigured: Bool
    private let directory: Mutex<UserDirectory>
    private let observers = Mutex<[@Sendable (UserDirectory) -> Void]>([])

    /// Creates a registry.
    /// - Parameters:
    ///   - adminToken: The gateway's single token (an admin with no name); empty = none.
    ///   - users: The first users, when a users file or Secret is configured; nil = no users source.
    public init(adminToken: String, users: UserDirectory? = nil) {
        self.adminToken = adminToken
        self.usersConfigured = users != nil
        self.directory = Mutex(users ?? .empty)
    }

    /// Whether requests need a token at all (false only for `--allow-unauthenticated` with no users).
    public var requiresToken: Bool { !adminToken.isEmpty || usersConfigured }

    /// Replaces the users (a good reload of the file or Secret).
    public func replace(_ users: UserDirectory) {
        directory.withLock { $0 = users }
        for observer in observers.withLock({ $0 }) { observer(users) }
    }

    /// Calls `observer` with the users now and after every replacement (keep it short: it runs on the watcher's task).
    public func observe(_ observer: @escaping @Sendable (UserDirectory) -> Void) {
        observers.withLock { $0.append(observer) }
        observer(directory.withLock { $0 })
    }

    /// Number of users now.
    public var userCount: Int { directory.withLock { $0.count } }

    /// The identity of a presented token: the gateway's token (compared in constant time) is an anonymous admin; a
    /// user's token is looked up by its SHA-256. Nil when it is neither.
    public func identity(forToken token: String) -> UserIdentity? {
        if !adminToken.isEmpty, Self.constantTimeEquals(token, adminToken) { return .anonymousAdmin }
        return directory.withLock { $0.identity(forToken: token) }
    }

    /// Compares via HMAC digests so the time does not depend on where the strings differ.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let key = SymmetricKey(size: .bits256)
        let macA = HMAC<SHA256>.authenticationCode(for: Data(a.utf8), using: key)
        return HMAC<SHA256>.isValidAuthenticationCode(macA, authenticating: Data(b.utf8), using: key)
    }
}
