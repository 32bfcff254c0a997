import ElasticJupyterContract
import Foundation

/// The users of a users file: each token's SHA-256 (lower-case hex) → its user. Plain tokens are never held; a
/// presented token is hashed and looked up.
public struct UserDirectory: Sendable, Equatable {
    /// Users by the SHA-256 of their token.
    public private(set) var usersByTokenHash: [String: UserIdentity]

    /// An empty directory (nobody but the gateway's own token, if any, gets in).
    public static let empty = UserDirectory(usersByTokenHash: [:])

    /// Creates a directory from users keyed by token hash.
    public init(usersByTokenHash: [String: UserIdentity]) {
        self.usersByTokenHash = usersByTokenHash
    }

    /// Number of users.
    public var count: Int { usersByTokenHash.count }

    /// The namespaces where the users' kernels run (their entries' `namespace`, else their workspaces').
    public var kernelNamespaces: Set<String> {
        Set(usersByTokenHash.values.compactMap(\.kernelNamespace))
    }

    /// The user whose token this is, if any.
    public func identity(forToken token: String) -> UserIdentity? {
        usersByTokenHash[Self.tokenHash(token)]
    }

    /// The lower-case hex SHA-256 of a token's UTF-8 bytes (what `sha256sum` prints for the token without a newline).
    public static func tokenHash(_ token: String) -> String {
        UsersSecretFormat.tokenHash(token)
    }
}
