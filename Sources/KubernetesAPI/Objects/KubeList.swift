/// A list response (`PodList`, …): items plus list metadata.
public struct KubeList<Item: KubernetesObject>: Codable, Sendable {
    /// `apiVersion` of the list.
    public var apiVersion: String?
    /// `kind` of the list, e.g. `PodList`.
    public var kind: String?
    /// List metadata (resourceVersion to watch from, continue token).
    public var metadata: ListMeta
    /// The items (never `nil`; an absent or `null` `items` decodes as empty).
    public var items: [Item]

    /// Creates a list.
    /// - Parameters:
    ///   - items: The items.
    ///   - metadata: List metadata.
    public init(items: [Item], metadata: ListMeta = ListMeta()) {
        self.items = items
        self.metadata = metadata
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, items }

    /// Decodes a list.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        items = try c.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

/// `metadata` of a list.
public struct ListMeta: Codable, Sendable, Hashable {
    /// The collection's resourceVersion; start a watch from it.
    public var resourceVersion: String?
    /// Token for the next page (`nil` or empty on the last page).
    public var `continue`: String?
    /// How many items are left after this page, if the server says.
    public var remainingItemCount: Int64?

    /// Creates list metadata.
    /// - Parameters:
    ///   - resourceVersion: Collection resourceVersion.
    ///   - continue: Continue token.
    public init(resourceVersion: String? = nil, continue: String? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
    }
}
