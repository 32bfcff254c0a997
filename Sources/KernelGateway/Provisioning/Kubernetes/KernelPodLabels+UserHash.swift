import Crypto
import Foundation

extension KernelPodLabels {
    /// Label holding ``userHash(_:)`` of the kernel's owner: selects a user's kernel pods whatever characters the name
    /// has (label values allow only 63 characters of a small alphabet); the readable name is in ``userAnnotation``.
    public static let userHashLabel = "elastic-jupyter.io/user-hash"

    /// The owner label value of a user: the first 40 lower-case hex digits of the SHA-256 of the name's UTF-8 bytes.
    /// The gateway and the controller compute it the same way.
    public static func userHash(_ user: String) -> String {
        String(SHA256.hash(data: Data(user.utf8)).map { String(format: "%02x", $0) }.joined().prefix(40))
    }

    /// The owner a pod records: its user annotation, when the hash label agrees with it (or, on pods from before the
    /// label, is absent). A disagreeing pair names no owner (only admins then see the kernel).
    static func owner(annotations: [String: String], labels: [String: String]) -> String? {
        guard let user = annotations[userAnnotation] else { return nil }
        if let hash = labels[userHashLabel], hash != userHash(user) { return nil }
        return user
    }
}
