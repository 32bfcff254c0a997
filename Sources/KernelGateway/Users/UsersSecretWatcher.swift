import Foundation
import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle

/// Follows the users Secret (data key `users.yaml`, in the gateway's own namespace) through one watch: every good
/// version replaces the users at once, so a revoked token stops working as soon as the API server has the change.
/// A malformed version is logged and the last good one kept; a deleted Secret leaves no users (only the gateway's
/// own token, if any, still works).
public struct UsersSecretWatcher: Service {
    /// The data key holding the users file.
    public static let dataKey = "users.yaml"
    let informer: Informer<KubeObject>
    let name: String
    let registry: UserRegistry
    let logger: Logger

    /// Creates a watcher of the Secret `name` in `namespace`.
    public init(client: KubernetesClient, namespace: String, name: String, registry: UserRegistry, logger: Logger) {
        self.informer = Informer(client: client, resource: .secrets, namespace: namespace, fieldSelector: "metadata.name=\(name)",
                                 logger: logger)
        self.name = name
        self.registry = registry
        self.logger = logger
    }

    /// Reads the Secret once (at start: a malformed one stops the gateway from starting; a missing one means no
    /// users yet).
    public static func load(client: KubernetesClient, namespace: String, name: String) async throws -> UserDirectory {
        do {
            let secret = try await client.get(.secrets, name: name, namespace: namespace, as: KubeObject.self)
            return try users(in: secret)
        } catch let error as KubernetesError where error.kind == .notFound {
            return .empty
        }
    }

    /// The users a Secret holds.
    static func users(in secret: KubeObject) throws(UsersFileError) -> UserDirectory {
        guard let encoded = secret["data"]?[dataKey]?.stringValue else {
            throw .malformed("the Secret has no data key '\(dataKey)'")
        }
        guard encoded.utf8.count <= UsersFileParser.maxBytes * 4 / 3 + 4, let data = Data(base64Encoded: encoded) else {
            throw .tooLarge(bytes: encoded.utf8.count)
        }
        return try UsersFileParser.parse(data)
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let changes = informer.changes(replayExisting: true)
            group.addTask { try await informer.run() }
            group.addTask {
                for await event in changes {
                    apply(event)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    func apply(_ event: InformerEvent<KubeObject>) {
        guard event.object.metadata.name == name else { return }
        if case .deleted = event {
            registry.replace(.empty)
            logger.warning("users Secret deleted: no user tokens are accepted", metadata: ["secret": "\(name)"])
            return
        }
        do {
            let users = try Self.users(in: event.object)
            registry.replace(users)
            logger.info("users Secret reloaded", metadata: ["secret": "\(name)", "users": "\(users.count)"])
        } catch {
            logger.error("users Secret refused; the last good users stay in force", metadata: ["secret": "\(name)", "error": "\(error)"])
        }
    }
}
