/// The identity of an object in a resource: `namespace/name` (or just `name` when cluster-scoped).
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Namespace, `nil` for cluster-scoped objects.
    public var namespace: String?
    /// Name.
    public var name: String

    /// Creates a key.
    /// - Parameters:
    ///   - namespace: Namespace, `nil` (or empty) for cluster-scoped objects.
    ///   - name: Name.
    public init(namespace: String?, name: String) {
        self.namespace = (namespace?.isEmpty ?? true) ? nil : namespace
        self.name = name
    }

    /// Parses `namespace/name` or `name`.
    public init(_ string: String) {
        if let slash = string.firstIndex(of: "/") {
            self.init(namespace: String(string[..<slash]), name: String(string[string.index(after: slash)...]))
        } else {
            self.init(namespace: nil, name: string)
        }
    }

    /// The key of an object (from its metadata).
    public init(_ object: some KubernetesObject) {
        self.init(namespace: object.metadata.namespace, name: object.metadata.name ?? "")
    }

    /// `namespace/name` or `name`.
    public var description: String {
        namespace.map { "\($0)/\(name)" } ?? name
    }

    /// Orders by namespace, then name.
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.namespace ?? "", lhs.name) < (rhs.namespace ?? "", rhs.name)
    }
}
