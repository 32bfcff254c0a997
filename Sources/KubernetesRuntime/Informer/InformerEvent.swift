import KubernetesAPI

/// A change seen by an ``Informer``, after it has been applied to its ``Store``.
public enum InformerEvent<Object: KubernetesObject>: Sendable {
    /// A new object.
    case added(Object)
    /// A changed object, with its previous state.
    case updated(old: Object, new: Object)
    /// A removed object (its last known state).
    case deleted(Object)

    /// The object concerned (the new state for updates).
    public var object: Object {
        switch self {
        case .added(let object), .deleted(let object): return object
        case .updated(_, let new): return new
        }
    }

    /// The `namespace/name` key of the object.
    public var key: ObjectKey { ObjectKey(object) }
}
