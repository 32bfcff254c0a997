/// A reference to another object (`corev1.ObjectReference`); only `name` and `namespace` are used.
public struct ObjectReference: Codable, Sendable, Hashable {
    /// API version of the referent (informational).
    public var apiVersion: String?
    /// Kind of the referent (informational).
    public var kind: String?
    /// Name of the referent.
    public var name: String
    /// Namespace of the referent; `nil` or empty means the referrer's namespace.
    public var namespace: String?

    /// Creates a reference.
    /// - Parameters:
    ///   - name: Name.
    ///   - namespace: Namespace (`nil` for the referrer's).
    public init(name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }

    /// The referent's namespace, defaulting to `referrer`'s.
    /// - Parameter referrer: Namespace of the object holding the reference.
    public func namespace(defaultingTo referrer: String) -> String {
        guard let namespace, !namespace.isEmpty else { return referrer }
        return namespace
    }
}

/// A key of a Secret.
public struct SecretKeyReference: Codable, Sendable, Hashable {
    /// Secret name (same namespace as the referrer).
    public var name: String
    /// Key in the Secret; default `token`.
    public var key: String?

    /// Creates a reference.
    /// - Parameters:
    ///   - name: Secret name.
    ///   - key: Key (default `token`).
    public init(name: String, key: String? = nil) {
        self.name = name
        self.key = key
    }

    /// The key, defaulted.
    public var resolvedKey: String { (key?.isEmpty ?? true) ? "token" : key! }
}

/// How a Service is exposed.
public struct ServiceSettings: Codable, Sendable, Hashable {
    /// `ClusterIP` (default), `NodePort` or `LoadBalancer`.
    public var type: String?
    /// Annotations of the Service.
    public var annotations: [String: String]?

    /// Creates settings.
    /// - Parameters:
    ///   - type: Service type.
    ///   - annotations: Annotations.
    public init(type: String? = nil, annotations: [String: String]? = nil) {
        self.type = type
        self.annotations = annotations
    }
}
