import KubernetesAPI
import Synchronization

/// A thread-safe cache of objects keyed by `namespace/name`, filled by an ``Informer``.
///
/// Readers get snapshots (values); only the informer writes.
public final class Store<Object: KubernetesObject>: Sendable {
    private let objects = Mutex<[ObjectKey: Object]>([:])

    /// Creates an empty store.
    public init() {}

    /// The object with this key.
    public func get(_ key: ObjectKey) -> Object? {
        objects.withLock { $0[key] }
    }

    /// The object with this namespace and name.
    /// - Parameters:
    ///   - namespace: Namespace (`nil` for cluster-scoped).
    ///   - name: Name.
    public func get(namespace: String?, name: String) -> Object? {
        get(ObjectKey(namespace: namespace, name: name))
    }

    /// Every object, sorted by key.
    public func list() -> [Object] {
        objects.withLock { all in all.sorted { $0.key < $1.key }.map(\.value) }
    }

    /// Objects in one namespace.
    /// - Parameter namespace: The namespace.
    public func list(namespace: String) -> [Object] {
        list().filter { $0.metadata.namespace == namespace }
    }

    /// Objects whose labels include all of `labels`.
    /// - Parameter labels: Required label values.
    public func list(matchingLabels labels: [String: String]) -> [Object] {
        list().filter { object in labels.allSatisfy { object.metadata.labels[$0.key] == $0.value } }
    }

    /// Objects for which `predicate` holds.
    /// - Parameter predicate: The filter.
    public func list(where predicate: (Object) -> Bool) -> [Object] {
        list().filter(predicate)
    }

    /// All keys, sorted.
    public var keys: [ObjectKey] {
        objects.withLock { $0.keys.sorted() }
    }

    /// Number of objects.
    public var count: Int {
        objects.withLock { $0.count }
    }

    // MARK: Writing (informer only)

    /// Inserts or replaces an object; returns the previous one.
    @discardableResult
    func upsert(_ object: Object) -> Object? {
        let key = ObjectKey(object)
        return objects.withLock { all in
            let old = all[key]
            all[key] = object
            return old
        }
    }

    /// Removes an object; returns the removed one.
    @discardableResult
    func remove(_ key: ObjectKey) -> Object? {
        objects.withLock { $0.removeValue(forKey: key) }
    }

    /// Replaces the whole content; returns the changes (added, updated with old/new, deleted).
    func replace(with newObjects: [Object]) -> [InformerEvent<Object>] {
        objects.withLock { all in
            var events: [InformerEvent<Object>] = []
            var fresh: [ObjectKey: Object] = [:]
            for object in newObjects {
                let key = ObjectKey(object)
                fresh[key] = object
                if let old = all[key] {
                    if old.metadata.resourceVersion != object.metadata.resourceVersion
                        || old.metadata.resourceVersion == nil
                    {
                        events.append(.updated(old: old, new: object))
                    }
                } else {
                    events.append(.added(object))
                }
            }
            for (key, old) in all where fresh[key] == nil {
                events.append(.deleted(old))
            }
            all = fresh
            return events
        }
    }
}
