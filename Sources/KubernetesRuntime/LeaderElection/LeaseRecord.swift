import Foundation
import KubernetesAPI

/// The election-relevant part of a Lease's `spec`.
struct LeaseRecord: Sendable, Hashable {
    var holderIdentity: String
    var leaseDurationSeconds: Int
    var acquireTime: String?
    var renewTime: String?
    var leaseTransitions: Int

    init(
        holderIdentity: String, leaseDurationSeconds: Int, acquireTime: String?, renewTime: String?,
        leaseTransitions: Int
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }

    /// Reads the record from a Lease object.
    init(lease: KubeObject) {
        let spec = lease.spec ?? .emptyObject
        holderIdentity = spec["holderIdentity"]?.stringValue ?? ""
        leaseDurationSeconds = spec["leaseDurationSeconds"]?.intValue ?? 0
        acquireTime = spec["acquireTime"]?.stringValue
        renewTime = spec["renewTime"]?.stringValue
        leaseTransitions = spec["leaseTransitions"]?.intValue ?? 0
    }

    /// The `spec` JSON of the record.
    var spec: KubeJSON {
        var spec: KubeJSON = [
            "holderIdentity": .string(holderIdentity),
            "leaseDurationSeconds": .int(Int64(leaseDurationSeconds)),
            "leaseTransitions": .int(Int64(leaseTransitions)),
        ]
        if let acquireTime { spec["acquireTime"] = .string(acquireTime) }
        if let renewTime { spec["renewTime"] = .string(renewTime) }
        return spec
    }
}

/// Kubernetes `MicroTime`: RFC 3339 in UTC with exactly six fractional digits.
public enum MicroTime {
    /// The MicroTime text of `date`.
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let micros = Int((date.timeIntervalSince1970 - floor(date.timeIntervalSince1970)) * 1_000_000)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T"
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(min(micros, 999_999), 6))Z"
    }
}
