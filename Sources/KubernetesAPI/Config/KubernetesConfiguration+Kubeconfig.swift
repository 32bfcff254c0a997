import Foundation
import Yams

extension KubernetesConfiguration {
    /// Configuration from a kubeconfig file: its current context (or `context`), that context's cluster,
    /// user and namespace.
    ///
    /// Supports `server` (`https://` or `http://`), `certificate-authority[-data]`, `insecure-skip-tls-verify`,
    /// `token`, `tokenFile`, `client-certificate[-data]`, `client-key[-data]` and `username`/`password`.
    /// Relative file paths are resolved against the kubeconfig's directory.
    ///
    /// - Parameters:
    ///   - path: The file; default the first entry of `KUBECONFIG` (a colon-separated list), else `~/.kube/config`.
    ///   - context: Context name; default `current-context`.
    ///   - environment: Environment variables (`KUBECONFIG`, `HOME`).
    /// - Throws: ``KubernetesConfigurationError``.
    public static func kubeconfig(
        path: String? = nil, context: String? = nil, environment: [String: String]
    ) throws(KubernetesConfigurationError) -> KubernetesConfiguration {
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file: String
        if let path {
            file = path
        } else if let list = environment["KUBECONFIG"],
            let first = list.split(separator: ":", omittingEmptySubsequences: true).first
        {
            file = String(first)
        } else {
            file = home + "/.kube/config"
            guard FileManager.default.fileExists(atPath: file) else { throw .noKubeconfig }
        }
        let expanded = expandTilde(file, home: home)
        let yaml = try FileAccess.readString(expanded)
        return try kubeconfig(
            yaml: yaml, directory: (expanded as NSString).deletingLastPathComponent, context: context, home: home,
            sourceName: expanded)
    }

    /// Configuration from kubeconfig YAML text.
    /// - Parameters:
    ///   - yaml: The kubeconfig document.
    ///   - directory: Base for relative file paths; default the current directory.
    ///   - context: Context name; default `current-context`.
    ///   - home: Home directory for `~` in paths.
    ///   - sourceName: Name used in error messages.
    /// - Throws: ``KubernetesConfigurationError``.
    public static func kubeconfig(
        yaml: String, directory: String? = nil, context: String? = nil, home: String? = nil,
        sourceName: String = "<kubeconfig>"
    ) throws(KubernetesConfigurationError) -> KubernetesConfiguration {
        let parsed: KubeconfigFile
        do {
            parsed = try YAMLDecoder().decode(KubeconfigFile.self, from: yaml)
        } catch {
            throw .invalidKubeconfig(path: sourceName, reason: "\(error)")
        }
        let resolver = KubeconfigResolver(
            file: parsed, directory: directory ?? FileManager.default.currentDirectoryPath,
            home: home ?? NSHomeDirectory())
        return try resolver.resolve(context: context)
    }

    /// Replaces a leading `~/` with the home directory.
    static func expandTilde(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }
}
