import KubernetesAPI

/// `spec.allowedNamespaces` of a JupyterGateway: which other namespaces' JupyterNotebooks may use it.
/// A namespace is allowed when it is listed by name or its labels match the selector; the gateway's own
/// namespace always is. Absent, only the gateway's own namespace may.
public struct AllowedNamespaces: Codable, Sendable, Hashable {
    /// Namespace names.
    public var names: [String]?
    /// A label selector over Namespace objects.
    public var selector: LabelSelector?

    /// Creates a consent.
    public init(names: [String]? = nil, selector: LabelSelector? = nil) {
        self.names = names
        self.selector = selector
    }
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
public struct LabelSelector: Codable, Sendable, Hashable {
    /// Labels that must be present with these values.
    public var matchLabels: [String: String]?
    /// Requirements (`In`, `NotIn`, `Exists`, `DoesNotExist`).
    public var matchExpressions: [Requirement]?

    /// One requirement.
    public struct Requirement: Codable, Sendable, Hashable {
        /// Label key.
        public var key: String
        /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
        public var `operator`: String
        /// Values for `In` / `NotIn`.
        public var values: [String]?
    }

    /// Creates a selector.
    public init(matchLabels: [String: String]? = nil, matchExpressions: [Requirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether `labels` satisfy the selector. An empty selector matches nothing here (consent must be explicit);
    /// an unknown operator never matches.
    public func matches(_ labels: [String: String]) -> Bool {
        let exact = matchLabels ?? [:]
        let expressions = matchExpressions ?? []
        guard !exact.isEmpty || !expressions.isEmpty else { return false }
        guard exact.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
        return expressions.allSatisfy { requirement in
            let value = labels[requirement.key]
            switch requirement.operator {
            case "In": return value.map { (requirement.values ?? []).contains($0) } ?? false
            case "NotIn": return value.map { !(requirement.values ?? []).contains($0) } ?? true
            case "Exists": return value != nil
            case "DoesNotExist": return value == nil
            default: return false
            }
        }
    }
}

/// Decides whether a notebook's namespace may use a gateway. Pure apart from the namespace labels it is given.
public enum NamespaceConsent {
    /// Whether `namespace` may use `gateway`.
    /// - Parameters:
    ///   - namespace: The notebook's namespace.
    ///   - gateway: The gateway.
    ///   - namespaceLabels: Labels of `namespace` (only consulted for a selector; `nil` when unknown).
    public static func allows(_ namespace: String, gateway: JupyterGateway, namespaceLabels: [String: String]?) -> Bool {
        if namespace == gateway.namespace { return true }
        guard let allowed = gateway.spec.allowedNamespaces else { return false }
        if (allowed.names ?? []).contains(namespace) { return true }
        guard let selector = allowed.selector, let namespaceLabels else { return false }
        return selector.matches(namespaceLabels)
    }

    /// Whether the decision needs the namespace's labels (a selector, and the name is not listed).
    public static func needsLabels(_ namespace: String, gateway: JupyterGateway) -> Bool {
        guard namespace != gateway.namespace, let allowed = gateway.spec.allowedNamespaces else { return false }
        return allowed.selector != nil && !(allowed.names ?? []).contains(namespace)
    }
}
