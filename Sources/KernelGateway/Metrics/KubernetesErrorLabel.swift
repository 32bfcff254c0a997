import KubernetesAPI

/// A failed Kubernetes API request's labels: its verb and the kind of error, each from a fixed set.
public enum KubernetesErrorLabel {
    /// The `error` label of a Kubernetes error (its ``KubernetesError/Kind``, in snake case).
    public static func error(_ error: KubernetesError) -> String {
        switch error.kind {
        case .badRequest: return "bad_request"
        case .unauthorized: return "unauthorized"
        case .forbidden: return "forbidden"
        case .notFound: return "not_found"
        case .alreadyExists: return "already_exists"
        case .conflict: return "conflict"
        case .gone: return "gone"
        case .invalid: return "invalid"
        case .tooManyRequests: return "too_many_requests"
        case .server: return "server"
        case .transport: return "transport"
        case .decoding: return "decoding"
        case .timeout: return "timeout"
        }
    }
}
