/// Anything that is a Kubernetes object: it has `metadata` and is JSON-codable.
///
/// ``KubeObject`` is the dynamic implementation (any manifest); typed custom resources can be plain
/// `Codable` structs with a `metadata: ObjectMeta` property.
public protocol KubernetesObject: Codable, Sendable {
    /// The object's metadata.
    var metadata: ObjectMeta { get set }

    /// Fills `apiVersion`/`kind` when the server left them out (list items do not carry them).
    /// The default implementation does nothing.
    mutating func fillTypeMeta(apiVersion: String, kind: String)
}

extension KubernetesObject {
    /// Default: nothing to fill.
    public mutating func fillTypeMeta(apiVersion: String, kind: String) {}

    /// `namespace/name` key of this object.
    public var objectKey: ObjectKey { ObjectKey(self) }
}
