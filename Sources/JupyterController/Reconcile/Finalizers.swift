import KubernetesAPI

/// Adds and removes finalizers with a JSON merge patch guarded by the object's `resourceVersion` (a stale
/// view fails with 409 instead of dropping someone else's finalizer).
public enum Finalizers {
    /// Adds `finalizer` if missing.
    /// - Returns: The object as stored afterwards.
    public static func add(
        _ finalizer: String, to object: KubeObject, resource: ResourceDescriptor, client: KubernetesClient
    ) async throws -> KubeObject {
        guard !object.finalizers.contains(finalizer) else { return object }
        return try await write(object.finalizers + [finalizer], to: object, resource: resource, client: client)
    }

    /// Removes `finalizer` if present (a gone object is fine).
    public static func remove(
        _ finalizer: String, from object: KubeObject, resource: ResourceDescriptor, client: KubernetesClient
    ) async throws {
        guard object.finalizers.contains(finalizer) else { return }
        do {
            _ = try await write(object.finalizers.filter { $0 != finalizer }, to: object, resource: resource, client: client)
        } catch KubernetesError.notFound {
        }
    }

    /// The merge patch setting `finalizers`. Pure.
    static func patch(_ finalizers: [String], resourceVersion: String?) -> KubeJSON {
        var metadata: KubeJSON = ["finalizers": finalizers.isEmpty ? .null : KubeJSON(finalizers)]
        if let resourceVersion { metadata["resourceVersion"] = .string(resourceVersion) }
        return ["metadata": metadata]
    }

    private static func write(
        _ finalizers: [String], to object: KubeObject, resource: ResourceDescriptor, client: KubernetesClient
    ) async throws -> KubeObject {
        try await client.patch(
            resource, name: object.name, namespace: object.namespace,
            patch: patch(finalizers, resourceVersion: object.resourceVersion), as: KubeObject.self)
    }
}

/// Writes `status` through the status subresource, only when it changed.
public enum StatusWriter {
    /// The merge patch turning `old` into `new` (members gone from `new` become `null`). Pure.
    public static func patch(from old: KubeJSON?, to new: KubeJSON) -> KubeJSON {
        var status = new
        for key in (old?.objectValue ?? [:]).keys where new[key] == nil {
            status[key] = .null
        }
        return ["status": status]
    }

    /// Writes the status if it differs from the stored one.
    /// - Returns: Whether a write happened.
    @discardableResult
    public static func write(
        _ status: KubeJSON, to object: KubeObject, resource: ResourceDescriptor, client: KubernetesClient
    ) async throws -> Bool {
        guard object.status != status else { return false }
        do {
            let _: KubeObject = try await client.patchStatus(
                resource, name: object.name, namespace: object.namespace, patch: patch(from: object.status, to: status))
            return true
        } catch KubernetesError.notFound {
            return false
        }
    }
}
