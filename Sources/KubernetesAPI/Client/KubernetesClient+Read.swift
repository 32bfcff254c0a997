import NIOCore
import NIOFoundationCompat

extension KubernetesClient {
    /// Reads one object.
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - name: Object name.
    ///   - namespace: Namespace (namespaced resources); default the client's namespace.
    ///   - type: The Swift type to decode (``KubeObject`` for any object).
    /// - Returns: The object.
    /// - Throws: ``KubernetesError`` (e.g. `.notFound`).
    public func get<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, name: String, namespace: String? = nil, as type: Object.Type = Object.self
    ) async throws -> Object {
        let path = resource.path(namespace: self.namespace(for: resource, explicit: namespace), name: name)
        let response = try await send(.get(path))
        return try decodeObject(Object.self, from: response.body, resource: resource)
    }

    /// Lists one page of objects.
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` lists across all namespaces (or a cluster-scoped resource).
    ///   - options: Selectors, paging, resourceVersion.
    ///   - type: The item type.
    /// - Returns: The page; `metadata.continue` is set when more pages exist.
    public func list<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, namespace: String? = nil, options: ListOptions = ListOptions(),
        as type: Object.Type = Object.self
    ) async throws -> KubeList<Object> {
        let path = resource.path(namespace: resource.namespaced ? namespace : nil)
        let response = try await send(.get(path, query: options.queryItems))
        var list: KubeList<Object>
        do {
            list = try JSONCoding.decoder.decode(KubeList<Object>.self, from: response.body)
        } catch {
            throw KubernetesError.decodingFailure("cannot decode \(resource.listKind): \(error)")
        }
        for index in list.items.indices {
            list.items[index].fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
        }
        return list
    }

    /// Lists every object, following `continue` tokens page by page.
    ///
    /// If a continue token expires mid-way (410), the list restarts once without paging.
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` for all namespaces.
    ///   - options: Selectors and page size (`limit`; `continueToken` is ignored).
    ///   - type: The item type.
    /// - Returns: All items, with the `resourceVersion` of the last page (watch from it).
    public func listAll<Object: KubernetesObject>(
        _ resource: ResourceDescriptor, namespace: String? = nil, options: ListOptions = ListOptions(),
        as type: Object.Type = Object.self
    ) async throws -> KubeList<Object> {
        var pageOptions = options
        pageOptions.continueToken = nil
        var items: [Object] = []
        while true {
            let page: KubeList<Object>
            do {
                page = try await list(resource, namespace: namespace, options: pageOptions, as: Object.self)
            } catch KubernetesError.gone where pageOptions.continueToken != nil {
                var unpaged = options
                unpaged.limit = nil
                unpaged.continueToken = nil
                return try await list(resource, namespace: namespace, options: unpaged, as: Object.self)
            }
            items += page.items
            guard let token = page.metadata.continue, !token.isEmpty else {
                var all = page
                all.items = items
                all.metadata.continue = nil
                return all
            }
            pageOptions.continueToken = token
        }
    }

    /// Decodes one object from a response body.
    func decodeObject<Object: KubernetesObject>(
        _ type: Object.Type, from body: ByteBuffer, resource: ResourceDescriptor
    ) throws -> Object {
        do {
            var object = try JSONCoding.decoder.decode(Object.self, from: body)
            object.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
            return object
        } catch {
            throw KubernetesError.decodingFailure("cannot decode \(resource.kind) as \(Object.self): \(error)")
        }
    }
}
