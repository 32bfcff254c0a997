/// An entry of `metadata.ownerReferences`.
public struct OwnerReference: Codable, Sendable, Hashable {
    /// API version of the owner, e.g. `v1` or `apps/v1`.
    public var apiVersion: String
    /// Kind of the owner.
    public var kind: String
    /// Name of the owner.
    public var name: String
    /// UID of the owner.
    public var uid: String
    /// Whether the owner is the managing controller.
    public var controller: Bool?
    /// Whether the owner cannot be deleted (foreground) before this object.
    public var blockOwnerDeletion: Bool?

    /// Creates an owner reference.
    /// - Parameters:
    ///   - apiVersion: API version of the owner.
    ///   - kind: Kind of the owner.
    ///   - name: Name of the owner.
    ///   - uid: UID of the owner.
    ///   - controller: Whether the owner is the managing controller.
    ///   - blockOwnerDeletion: Whether to block foreground deletion of the owner.
    public init(
        apiVersion: String, kind: String, name: String, uid: String,
        controller: Bool? = nil, blockOwnerDeletion: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}
