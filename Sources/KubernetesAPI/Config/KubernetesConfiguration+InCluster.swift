import Foundation

extension KubernetesConfiguration {
    /// Where a pod's service-account credentials are mounted.
    public static let defaultServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Configuration from inside a pod: `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, and the
    /// service account's `token` (re-read when it rotates), `ca.crt` and `namespace` files.
    ///
    /// - Parameters:
    ///   - environment: Environment variables (pass `ProcessInfo.processInfo.environment`).
    ///   - serviceAccountDirectory: Directory with `token`, `ca.crt`, `namespace`.
    ///     Default ``defaultServiceAccountDirectory``.
    ///   - tokenRefreshInterval: Re-read the token file at most this often (and after any 401). Default 60 s.
    /// - Throws: ``KubernetesConfigurationError/notInCluster`` or ``KubernetesConfigurationError/unreadableFile(path:reason:)``.
    public static func inCluster(
        environment: [String: String],
        serviceAccountDirectory: String = defaultServiceAccountDirectory,
        tokenRefreshInterval: Duration = .seconds(60)
    ) throws(KubernetesConfigurationError) -> KubernetesConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else { throw .notInCluster }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let directory = URL(fileURLWithPath: serviceAccountDirectory)
        let tokenPath = directory.appendingPathComponent("token").path
        // The token must be readable now; later reads pick up rotations.
        _ = try FileAccess.read(tokenPath)
        let ca = try FileAccess.read(directory.appendingPathComponent("ca.crt").path)
        let namespacePath = directory.appendingPathComponent("namespace").path
        let namespace = (try? FileAccess.readString(namespacePath))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return KubernetesConfiguration(
            server: "https://\(hostPart):\(port)",
            namespace: (namespace?.isEmpty ?? true) ? "default" : namespace!,
            credentials: .tokenFile(path: tokenPath, refreshInterval: tokenRefreshInterval),
            tls: TLS(certificateAuthorityPEM: ca))
    }
}

/// Reading small credential files with typed errors.
enum FileAccess {
    /// The bytes of a file.
    static func read(_ path: String) throws(KubernetesConfigurationError) -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableFile(path: path, reason: error.localizedDescription)
        }
    }

    /// The UTF-8 text of a file.
    static func readString(_ path: String) throws(KubernetesConfigurationError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }
}
