import Foundation

/// Identifies a resource type of the API: group, version, plural name, kind and scope.
///
/// Built-in ones are statics (``pods``, ``secrets``, ``leases``…); make your own for custom resources:
/// ```swift
/// let gateways = ResourceDescriptor(group: "jupyter.org", version: "v1alpha1", plural: "jupytergateways",
///                                   kind: "JupyterGateway", namespaced: true)
/// ```
public struct ResourceDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// API group (`""` for the core group).
    public var group: String
    /// API version within the group, e.g. `v1`.
    public var version: String
    /// Plural resource name used in URLs, e.g. `pods`.
    public var plural: String
    /// Kind, e.g. `Pod`.
    public var kind: String
    /// Whether objects live in namespaces.
    public var namespaced: Bool

    /// Creates a descriptor.
    /// - Parameters:
    ///   - group: API group (`""` for core).
    ///   - version: Version, e.g. `v1`.
    ///   - plural: Plural name as in the URL.
    ///   - kind: Kind.
    ///   - namespaced: Whether the resource is namespaced.
    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// `apiVersion` of objects of this resource: `v1` or `group/version`.
    public var apiVersion: String {
        group.isEmpty ? version : "\(group)/\(version)"
    }

    /// `kind` of a list of this resource, e.g. `PodList`.
    public var listKind: String { kind + "List" }

    /// `plural.group/version`, e.g. `deployments.apps/v1`.
    public var description: String {
        group.isEmpty ? "\(plural)/\(version)" : "\(plural).\(group)/\(version)"
    }

    /// The URL path (without server prefix) of the collection or of one object.
    ///
    /// - Parameters:
    ///   - namespace: Namespace; ignored for cluster-scoped resources; `nil` on a namespaced resource
    ///     means all namespaces (collection paths only).
    ///   - name: Object name, or `nil` for the collection.
    ///   - subresource: Subresource such as `status`.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace, !namespace.isEmpty {
            path += "/namespaces/\(Self.escape(namespace))"
        }
        path += "/\(plural)"
        if let name {
            path += "/\(Self.escape(name))"
            if let subresource { path += "/\(subresource)" }
        }
        return path
    }

    /// Percent-escapes a path segment (names are DNS-like, but do not trust callers).
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: QueryEncoding.unreserved) ?? segment
    }
}
