import NIOCore

extension KubernetesClient {
    /// Lists one page of objects and returns the response body undecoded.
    ///
    /// For callers that must survive one object they cannot decode (too deeply nested, a number out of
    /// range): split the items themselves and decode them one by one.
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` lists across all namespaces (or a cluster-scoped resource).
    ///   - options: Selectors, paging, resourceVersion.
    /// - Returns: The JSON body of the list response.
    /// - Throws: ``KubernetesError`` or `CancellationError`.
    public func listPageBody(
        _ resource: ResourceDescriptor, namespace: String? = nil, options: ListOptions = ListOptions()
    ) async throws -> ByteBuffer {
        let path = resource.path(namespace: resource.namespaced ? namespace : nil)
        return try await send(.get(path, query: options.queryItems)).body
    }
}
