import Foundation
import KubernetesAPI

/// Why a notebook's work-directory claim stays `Pending`, in words that name the fix (issue 19 item 3): a cluster
/// without a default StorageClass leaves a claim that names none unbound forever, and the notebook pod with it.
public struct ClaimProblem: Sendable, Hashable {
    /// `NoDefaultStorageClass`, `StorageClassNotFound` or `ClaimPending` (a claim not bound), `ClaimNotExpandable`
    /// (a bound claim that cannot grow to the notebook's `storage.size`).
    public var reason: String
    /// The notebook condition that reports it: `ClaimNotExpandable` or `ClaimPending`.
    public var conditionType: String { reason == "ClaimNotExpandable" ? "ClaimNotExpandable" : "ClaimPending" }
    /// What is wrong and what to set.
    public var message: String

    /// Creates a problem.
    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }

    /// Diagnoses a claim from its object and the cluster's StorageClasses. Pure.
    /// - Parameters:
    ///   - claim: The claim as read (nil: not there yet).
    ///   - storageClasses: Every StorageClass, or nil when they cannot be listed.
    ///   - grace: How long a claim may be Pending before it is reported (provisioning takes a few seconds).
    ///   - now: The current time.
    /// - Returns: Nil when the claim is bound, young, or absent.
    public static func diagnose(claim: KubeObject?, storageClasses: [KubeObject]?, grace: TimeInterval = 30, now: Date = Date()) -> ClaimProblem? {
        guard let claim, claim.status?["phase"]?.stringValue ?? "Pending" == "Pending",
              let created = claim.metadata.creationTimestamp.flatMap(Self.parseTime), now.timeIntervalSince(created) >= grace
        else { return nil }
        let name = claim.name
        let fix = "set spec.storage.storageClassName to a StorageClass of the cluster, spec.storage.existingClaim to a bound claim, or spec.storage.enabled: false"
        let className = claim.spec?["storageClassName"]?.stringValue
        if let storageClasses {
            if let className, !className.isEmpty {
                if !storageClasses.contains(where: { $0.name == className }) {
                    return ClaimProblem(reason: "StorageClassNotFound",
                                        message: "claim \(name) is Pending: StorageClass \(className) does not exist; \(fix)")
                }
            } else if className == nil, !storageClasses.contains(where: isDefault) {
                return ClaimProblem(reason: "NoDefaultStorageClass",
                                    message: "claim \(name) is Pending: it names no StorageClass and the cluster has no default one; \(fix)")
            }
        }
        return ClaimProblem(reason: "ClaimPending",
                            message: "claim \(name) is Pending (no volume provisioned or bound yet; kubectl describe pvc \(name) shows why)")
    }

    /// Whether a StorageClass is the cluster's default (the annotation, or its beta spelling).
    static func isDefault(_ storageClass: KubeObject) -> Bool {
        let annotations = storageClass.metadata.annotations
        return annotations["storageclass.kubernetes.io/is-default-class"] == "true"
            || annotations["storageclass.beta.kubernetes.io/is-default-class"] == "true"
    }

    static func parseTime(_ text: String) -> Date? {
        ISO8601DateFormatter().date(from: text)
    }
}
