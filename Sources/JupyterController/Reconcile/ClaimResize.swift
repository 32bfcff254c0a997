import KubernetesAPI

/// Whether a notebook's generated claim should grow to a larger `storage.size` (issue 19 item 3). Claims only grow:
/// Kubernetes refuses to shrink one. Pure.
public enum ClaimResize: Sendable, Hashable {
    /// Nothing to do (same size, smaller, unreadable sizes, or no claim).
    case none
    /// Patch the claim's request to this size.
    case grow(to: String)
    /// Larger asked, but the claim's StorageClass does not allow expansion (`allowVolumeExpansion`).
    case notExpandable(storageClass: String)

    /// Decides from the desired size, the live claim and the cluster's StorageClasses (nil when unreadable: a grow is
    /// then attempted and the API server has the last word).
    public static func decide(desiredSize: String, claim: KubeObject?, storageClasses: [KubeObject]?) -> ClaimResize {
        guard let claim, let current = claim[path: "spec", "resources", "requests", "storage"]?.stringValue,
              let want = Quantity.amount(desiredSize), let have = Quantity.amount(current), want > have
        else { return .none }
        let className = claim.spec?["storageClassName"]?.stringValue
        if let storageClasses {
            let storageClass = storageClasses.first { $0.name == className }
                ?? (className == nil ? storageClasses.first(where: ClaimProblem.isDefault) : nil)
            if storageClass?["allowVolumeExpansion"]?.boolValue != true {
                return .notExpandable(storageClass: storageClass?.name ?? className ?? "(none)")
            }
        }
        return .grow(to: desiredSize)
    }
}
