import Foundation
import KernelGateway
import KubernetesAPI
import Logging
import ServiceLifecycle

/// Where the gateway's users come from (`--users-file` or `--users-secret`), loaded once before the gateway starts
/// (a users source that cannot be loaded stops the start, with the reason) and then followed by a service.
enum UsersPlan {
    /// No users: only the gateway's own token (or none, with `--allow-unauthenticated`).
    case none
    /// A users file, with its first contents.
    case file(path: String, initial: UserDirectory)
    /// A Secret in the gateway's namespace.
    case secret(name: String)

    /// Resolves the settings; the file is read and checked now.
    init(_ resolved: SettingsResolver) throws {
        let file = resolved.string("users-file"), secret = resolved.string("users-secret")
        switch (file.isEmpty, secret.isEmpty) {
        case (true, true):
            self = .none
        case (false, false):
            throw SettingsError.invalid(key: "users-secret", value: secret, expected: "either a users file or a users Secret, not both")
        case (false, true):
            do {
                self = .file(path: file, initial: try UsersFileWatcher.load(file))
            } catch {
                throw SettingsError.invalid(key: "users-file", value: file, expected: "a valid users file (\(error))")
            }
        case (true, false):
            guard DNSLabelCheck.isSecretName(secret) else {
                throw SettingsError.invalid(key: "users-secret", value: secret, expected: "a Secret name (DNS-1123)")
            }
            self = .secret(name: secret)
        }
    }

    /// Whether users are configured.
    var isConfigured: Bool {
        if case .none = self { return false }
        return true
    }

    /// The registry (with the first users) and the service that keeps it current, if any.
    func start(adminToken: String, kubernetes: (client: KubernetesClient, namespace: String)?, logger: Logger) async throws
        -> (UserRegistry, (any Service)?)
    {
        switch self {
        case .none:
            return (UserRegistry(adminToken: adminToken), nil)
        case .file(let path, let initial):
            let registry = UserRegistry(adminToken: adminToken, users: initial)
            logger.info("users loaded", metadata: ["path": "\(path)", "users": "\(initial.count)"])
            return (registry, UsersFileWatcher(path: path, registry: registry, logger: logger))
        case .secret(let name):
            guard let kubernetes else {
                throw SettingsError.invalid(key: "users-secret", value: name, expected: "a usable cluster configuration (none was found)")
            }
            let initial: UserDirectory
            do {
                initial = try await UsersSecretWatcher.load(client: kubernetes.client, namespace: kubernetes.namespace, name: name)
            } catch {
                throw SettingsError.invalid(key: "users-secret", value: name, expected: "a readable Secret with a valid users.yaml (\(error))")
            }
            logger.info("users loaded", metadata: ["secret": "\(name)", "users": "\(initial.count)"])
            let registry = UserRegistry(adminToken: adminToken, users: initial)
            return (registry, UsersSecretWatcher(client: kubernetes.client, namespace: kubernetes.namespace, name: name,
                                                 registry: registry, logger: logger))
        }
    }
}

/// The shape of a Secret's name, checked before any request names it.
enum DNSLabelCheck {
    static func isSecretName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
            && name.first != "-" && name.first != "." && name.last != "-" && name.last != "."
    }
}
