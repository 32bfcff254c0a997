/// Why a configuration could not be loaded.
public enum KubernetesConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not running in a pod: `KUBERNETES_SERVICE_HOST`/`PORT` unset.
    case notInCluster
    /// A required file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The kubeconfig is not valid YAML or does not have the expected shape.
    case invalidKubeconfig(path: String, reason: String)
    /// No kubeconfig file was found.
    case noKubeconfig
    /// The named (or current) context does not exist, or none is selected.
    case contextNotFound(String)
    /// The context's cluster does not exist.
    case clusterNotFound(String)
    /// The context's user does not exist.
    case userNotFound(String)
    /// A `*-data` field is not valid base64.
    case invalidBase64(field: String)
    /// The server URL is not `http(s)://host[:port][/prefix]`.
    case invalidServer(String)
    /// The user entry uses a mechanism this client does not implement (`exec`, `auth-provider`).
    case unsupportedAuthentication(String)
    /// The PEM material cannot be used.
    case invalidCertificate(String)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .notInCluster: return "not running in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)"
        case .unreadableFile(let path, let reason): return "cannot read \(path): \(reason)"
        case .invalidKubeconfig(let path, let reason): return "invalid kubeconfig \(path): \(reason)"
        case .noKubeconfig: return "no kubeconfig found (KUBECONFIG unset and ~/.kube/config missing)"
        case .contextNotFound(let name): return "kubeconfig context '\(name)' not found"
        case .clusterNotFound(let name): return "kubeconfig cluster '\(name)' not found"
        case .userNotFound(let name): return "kubeconfig user '\(name)' not found"
        case .invalidBase64(let field): return "kubeconfig field \(field) is not valid base64"
        case .invalidServer(let server): return "invalid server URL '\(server)'"
        case .unsupportedAuthentication(let what): return "unsupported authentication: \(what)"
        case .invalidCertificate(let reason): return "invalid certificate or key: \(reason)"
        }
    }
}
