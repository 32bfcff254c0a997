import NIOCore
import NIOHTTP1

extension KubernetesClient {
    /// Creates an object (POST).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - object: The object; `apiVersion`/`kind` are filled from `resource` if missing.
    ///   - namespace: Namespace; default the object's, else the client's.
    /// - Returns: The object as stored (with uid, resourceVersion…).
    /// - Throws: ``KubernetesError`` (e.g. `.alreadyExists`, `.invalid`).
    public func create<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, _ object: Object, namespace: String? = nil
    ) async throws -> Object {
        var body = object
        body.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
        let ns = self.namespace(for: resource, explicit: namespace, object: object.metadata.namespace)
        let request = try APIRequest.withBody(.POST, resource.path(namespace: ns), body: body)
        return try decodeObject(Object.self, from: try await send(request).body, resource: resource)
    }

    /// Replaces an object (PUT). The object's `metadata.resourceVersion` is sent as is: when it is stale
    /// the server answers 409 `.conflict` (optimistic concurrency).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - object: The full object (normally a modified copy of one read from the server).
    ///   - namespace: Namespace; default the object's, else the client's.
    /// - Returns: The object as stored.
    public func update<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, _ object: Object, namespace: String? = nil
    ) async throws -> Object {
        try await put(resource, object, namespace: namespace, subresource: nil)
    }

    /// Replaces the `status` of an object (PUT on the `status` subresource; `spec` changes are ignored).
    /// - Parameters:
    ///   - resource: The resource type (must have a status subresource).
    ///   - object: The object with the new status and a current resourceVersion.
    ///   - namespace: Namespace; default the object's, else the client's.
    /// - Returns: The object as stored.
    public func updateStatus<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, _ object: Object, namespace: String? = nil
    ) async throws -> Object {
        try await put(resource, object, namespace: namespace, subresource: "status")
    }

    /// Patches an object (JSON merge patch by default).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - name: Object name.
    ///   - namespace: Namespace; default the client's.
    ///   - patch: The patch body, e.g. `["metadata": ["labels": ["a": "b"]]]` as ``KubeJSON``.
    ///   - type: Merge patch or JSON patch. Default ``PatchType/merge``.
    ///   - objectType: The Swift type to decode the result as.
    /// - Returns: The patched object.
    public func patch<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, name: String, namespace: String? = nil, patch: some Encodable & Sendable,
        type: PatchType = .merge, as objectType: Object.Type = Object.self
    ) async throws -> Object {
        try await self.patch(resource, name: name, namespace: namespace, patch: patch, type: type, subresource: nil)
    }

    /// Patches the `status` subresource of an object (JSON merge patch by default).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - name: Object name.
    ///   - namespace: Namespace; default the client's.
    ///   - patch: The patch body, e.g. `["status": ["phase": "Ready"]]`.
    ///   - type: Merge patch or JSON patch. Default ``PatchType/merge``.
    ///   - objectType: The Swift type to decode the result as.
    /// - Returns: The patched object.
    public func patchStatus<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, name: String, namespace: String? = nil, patch: some Encodable & Sendable,
        type: PatchType = .merge, as objectType: Object.Type = Object.self
    ) async throws -> Object {
        try await self.patch(resource, name: name, namespace: namespace, patch: patch, type: type, subresource: "status")
    }

    /// Deletes an object.
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - name: Object name.
    ///   - namespace: Namespace; default the client's.
    ///   - options: Propagation policy, grace period, preconditions.
    /// - Throws: ``KubernetesError`` (`.notFound` if it does not exist, `.conflict` if a precondition fails).
    public func delete(
        _ resource: ResourceDescriptor, name: String, namespace: String? = nil, options: DeleteOptions = DeleteOptions()
    ) async throws {
        let path = resource.path(namespace: self.namespace(for: resource, explicit: namespace), name: name)
        _ = try await send(try APIRequest.withBody(.DELETE, path, body: options))
    }

    // MARK: Helpers

    private func put<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, _ object: Object, namespace: String?, subresource: String?
    ) async throws -> Object {
        guard let name = object.metadata.name, !name.isEmpty else {
            throw KubernetesError(kind: .invalid, message: "update needs metadata.name")
        }
        var body = object
        body.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
        let ns = self.namespace(for: resource, explicit: namespace, object: object.metadata.namespace)
        let path = resource.path(namespace: ns, name: name, subresource: subresource)
        let request = try APIRequest.withBody(.PUT, path, body: body)
        return try decodeObject(Object.self, from: try await send(request).body, resource: resource)
    }

    private func patch<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, name: String, namespace: String?, patch: some Encodable & Sendable,
        type: PatchType, subresource: String?
    ) async throws -> Object {
        let ns = self.namespace(for: resource, explicit: namespace)
        let path = resource.path(namespace: ns, name: name, subresource: subresource)
        let request = try APIRequest.withBody(.PATCH, path, body: patch, contentType: type.contentType)
        return try decodeObject(Object.self, from: try await send(request).body, resource: resource)
    }
}
