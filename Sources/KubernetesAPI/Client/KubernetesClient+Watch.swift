extension KubernetesClient {
    /// Starts watching a collection and returns its events once the server has accepted the watch.
    ///
    /// Chunked JSON lines are split on `\n` whatever the chunk boundaries. The watch ends when the server
    /// closes it (after `options.timeoutSeconds`), when the iterating task is cancelled, or with an error.
    /// ``KubernetesRuntime``'s informer adds list, resume and re-list on top.
    ///
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` watches all namespaces (or a cluster-scoped resource).
    ///   - options: Selectors, start resourceVersion, bookmarks, timeout.
    ///   - type: The object type.
    /// - Returns: The event stream.
    /// - Throws: ``KubernetesError`` if the watch cannot be opened (`.gone` when the resourceVersion is too old).
    public func watch<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, namespace: String? = nil, options: WatchOptions = WatchOptions(),
        as type: Object.Type = Object.self
    ) async throws -> WatchStream<Object> {
        let path = resource.path(namespace: resource.namespaced ? namespace : nil)
        let response = try await openStream(.get(path, query: options.queryItems))
        logger.debug(
            "watch opened",
            metadata: ["resource": "\(resource)", "namespace": "\(namespace ?? "*")",
                       "resourceVersion": "\(options.resourceVersion ?? "")"])
        return WatchStream(body: response.body, resource: resource)
    }
}
