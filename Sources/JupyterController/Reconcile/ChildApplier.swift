import KubernetesAPI
import Logging

/// Brings one child to its desired state without server-side apply: create when absent, otherwise update
/// with the live object's `resourceVersion` (a concurrent change makes the update fail with 409, and the
/// reconcile is retried). An update happens only when the rendering changed (a hash annotation) or the
/// live object drifted from it, so reconciles of a settled object write nothing.
public struct ChildApplier: Sendable {
    /// What happened to a child.
    public enum Outcome: Sendable, Hashable {
        /// Created.
        case created
        /// Updated.
        case updated
        /// Already as desired.
        case unchanged
    }

    /// Annotation listing the annotation keys the controller set (so that removed ones can be dropped).
    static let managedAnnotationsKey = "elastic-jupyter.io/managed-annotations"

    let client: KubernetesClient
    /// Cached live objects, for resource types the controller watches (`nil` result: not cached, ask the API).
    let cache: @Sendable (ResourceDescriptor, ObjectKey) -> KubeObject?
    let metrics: ControllerMetrics

    /// Creates an applier.
    /// - Parameters:
    ///   - client: The API client.
    ///   - metrics: Counts writes.
    ///   - cache: Lookup in informer stores: the object when a store holds it; `nil` (not watched, or not yet
    ///     seen: the cache may lag behind a create) makes the applier ask the API.
    public init(
        client: KubernetesClient, metrics: ControllerMetrics,
        cache: @escaping @Sendable (ResourceDescriptor, ObjectKey) -> KubeObject? = { _, _ in nil }
    ) {
        self.client = client
        self.metrics = metrics
        self.cache = cache
    }

    /// Creates or updates a child.
    /// - Parameters:
    ///   - child: The desired child.
    ///   - ownerUID: UID of the custom resource (to detect foreign owners and drop our reference when unowned).
    /// - Returns: What was done.
    /// - Throws: ``KubernetesError`` (`.conflict` on a concurrent change) or ``ControllerError/foreignOwner(kind:name:owner:)``.
    public func apply(_ child: DesiredChild, ownerUID: String) async throws -> Outcome {
        let desired = Self.stamped(child.object)
        let key = ObjectKey(namespace: desired.namespace, name: desired.name)
        let live: KubeObject?
        if let cached = cache(child.resource, key) {
            live = cached
        } else {
            live = try await get(child.resource, key)
        }
        guard let live else {
            do {
                _ = try await client.create(child.resource, desired, namespace: desired.namespace)
                metrics.countWrite(kind: child.resource.kind, verb: "create")
                return .created
            } catch KubernetesError.alreadyExists {
                guard let fresh = try await get(child.resource, key) else { throw KubernetesError(kind: .conflict, message: "\(child.description) flickered") }
                return try await update(fresh, to: desired, child: child, ownerUID: ownerUID)
            }
        }
        return try await update(live, to: desired, child: child, ownerUID: ownerUID)
    }

    /// Deletes a child the spec no longer asks for, if it exists and is ours.
    /// - Returns: Whether something was deleted.
    @discardableResult
    public func remove(_ absent: AbsentChild, ownerUID: String) async throws -> Bool {
        let key = ObjectKey(namespace: absent.namespace, name: absent.name)
        guard let live = try await get(absent.resource, key), live.metadata.controllerReference?.uid == ownerUID else { return false }
        do {
            try await client.delete(absent.resource, name: absent.name, namespace: absent.namespace)
            metrics.countWrite(kind: absent.resource.kind, verb: "delete")
            return true
        } catch KubernetesError.notFound {
            return false
        }
    }

    // MARK: Update

    private func update(_ live: KubeObject, to desired: KubeObject, child: DesiredChild, ownerUID: String) async throws -> Outcome {
        if let controller = live.metadata.controllerReference, controller.uid != ownerUID {
            throw ControllerError.foreignOwner(
                kind: child.resource.kind, name: desired.name, owner: "\(controller.kind) \(controller.name)")
        }
        guard Self.needsUpdate(live, desired, policy: child.policy, ownerUID: ownerUID) else { return .unchanged }
        do {
            try await write(Self.merged(live, desired, policy: child.policy, ownerUID: ownerUID), child: child)
        } catch KubernetesError.conflict {
            // Our view (often the informer cache) was stale: read the object again and retry once.
            let key = ObjectKey(namespace: desired.namespace, name: desired.name)
            guard let fresh = try await get(child.resource, key) else { throw KubernetesError(kind: .conflict, message: "\(child.description) vanished") }
            if let controller = fresh.metadata.controllerReference, controller.uid != ownerUID {
                throw ControllerError.foreignOwner(kind: child.resource.kind, name: desired.name, owner: "\(controller.kind) \(controller.name)")
            }
            guard Self.needsUpdate(fresh, desired, policy: child.policy, ownerUID: ownerUID) else { return .unchanged }
            try await write(Self.merged(fresh, desired, policy: child.policy, ownerUID: ownerUID), child: child)
        }
        return .updated
    }

    private func write(_ object: KubeObject, child: DesiredChild) async throws {
        _ = try await client.update(child.resource, object, namespace: object.namespace)
        metrics.countWrite(kind: child.resource.kind, verb: "update")
    }

    private func get(_ resource: ResourceDescriptor, _ key: ObjectKey) async throws -> KubeObject? {
        do {
            return try await client.get(resource, name: key.name, namespace: key.namespace, as: KubeObject.self)
        } catch KubernetesError.notFound {
            return nil
        }
    }

    // MARK: Pure parts

    /// The desired object with its hash and managed-annotation list.
    static func stamped(_ object: KubeObject) -> KubeObject {
        var stamped = object
        let managed = object.annotations.keys.sorted()
        if !managed.isEmpty { stamped.annotations[managedAnnotationsKey] = managed.joined(separator: ",") }
        stamped.annotations[ControllerLabels.appliedHashAnnotation] = CanonicalJSON.hash(object.json)
        return stamped
    }

    /// Whether the live object differs from the desired one in anything we own.
    static func needsUpdate(_ live: KubeObject, _ desired: KubeObject, policy: DesiredChild.UpdatePolicy, ownerUID: String) -> Bool {
        if live.annotations[ControllerLabels.appliedHashAnnotation] != desired.annotations[ControllerLabels.appliedHashAnnotation] {
            return true
        }
        if !desired.labels.allSatisfy({ live.labels[$0.key] == $0.value }) { return true }
        if !desired.annotations.allSatisfy({ live.annotations[$0.key] == $0.value }) { return true }
        let ours = live.ownerReferences.filter { $0.uid == ownerUID }
        if desired.ownerReferences.isEmpty ? !ours.isEmpty : ours != desired.ownerReferences { return true }
        guard policy == .replace else { return false }
        return desired.fields.contains { key, value in !JSONSubset.contains(live.fields[key], value) }
    }

    /// The live object with our labels, annotations, owner reference and (for `.replace`) fields.
    static func merged(_ live: KubeObject, _ desired: KubeObject, policy: DesiredChild.UpdatePolicy, ownerUID: String) -> KubeObject {
        var next = live
        for (key, value) in desired.labels { next.labels[key] = value }
        let previouslyManaged = (live.annotations[managedAnnotationsKey] ?? "").split(separator: ",").map(String.init)
        for key in previouslyManaged where desired.annotations[key] == nil { next.annotations[key] = nil }
        if desired.annotations[managedAnnotationsKey] == nil { next.annotations[managedAnnotationsKey] = nil }
        for (key, value) in desired.annotations { next.annotations[key] = value }
        next.ownerReferences = live.ownerReferences.filter { $0.uid != ownerUID } + desired.ownerReferences
        if policy == .replace {
            for (key, value) in desired.fields {
                next.fields[key] = preserved(key: key, desired: value, live: live)
            }
        }
        return next
    }

    /// Keeps server-assigned, immutable parts of a field that a plain replacement would drop.
    static func preserved(key: String, desired: KubeJSON, live: KubeObject) -> KubeJSON {
        guard key == "spec", live.kind == "Service", let old = live.spec else { return desired }
        var spec = desired
        for member in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "healthCheckNodePort"] where spec[member] == nil {
            if let value = old[member] { spec[member] = value }
        }
        if var ports = spec["ports"]?.arrayValue, let oldPorts = old["ports"]?.arrayValue {
            for index in ports.indices where ports[index]["nodePort"] == nil {
                let name = ports[index]["name"]
                if let match = oldPorts.first(where: { $0["name"] == name }), let nodePort = match["nodePort"] {
                    ports[index]["nodePort"] = nodePort
                }
            }
            spec["ports"] = .array(ports)
        }
        return spec
    }
}
