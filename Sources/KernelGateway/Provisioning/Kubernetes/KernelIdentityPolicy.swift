/// Which user and group ids a kernel pod may run as (`KERNEL_UID` / `KERNEL_GID`).
///
/// A client choosing any id could take another user's files on a shared volume, so ids must lie in a
/// configured range and outside the prohibited lists (EG's `EG_PROHIBITED_UIDS` / `EG_PROHIBITED_GIDS`).
/// Id 0, user or group, is always refused: kernels never run as root or in the root group.
public struct KernelIdentityPolicy: Sendable, Equatable {
    /// User ids a kernel may run as. Default `1000...65535` (no system account).
    public var uidRange: ClosedRange<Int>
    /// Group ids a kernel may run as. Default `100...65535` (no system group).
    public var gidRange: ClosedRange<Int>
    /// User ids never allowed, whatever the range (0 always is).
    public var prohibitedUIDs: Set<Int>
    /// Group ids never allowed, whatever the range (0 always is).
    public var prohibitedGIDs: Set<Int>

    /// Creates a policy.
    /// - Parameters:
    ///   - uidRange: Allowed user ids.
    ///   - gidRange: Allowed group ids.
    ///   - prohibitedUIDs: Refused user ids.
    ///   - prohibitedGIDs: Refused group ids.
    public init(uidRange: ClosedRange<Int> = 1000...65535, gidRange: ClosedRange<Int> = 100...65535,
                prohibitedUIDs: Set<Int> = [0], prohibitedGIDs: Set<Int> = [0]) {
        self.uidRange = uidRange
        self.gidRange = gidRange
        self.prohibitedUIDs = prohibitedUIDs
        self.prohibitedGIDs = prohibitedGIDs
    }

    /// The user and group id of a kernel: the request's `KERNEL_UID` / `KERNEL_GID`, else the defaults.
    /// - Throws: `invalidRequest` (400) for a malformed id or one outside the range; `limitReached` (403, as
    ///   EG) for 0 or a prohibited id.
    public func ids(env: [String: String], defaultUID: Int, defaultGID: Int) throws(GatewayError) -> (uid: Int, gid: Int) {
        let uid = try Self.check("KERNEL_UID", "UID", env["KERNEL_UID"], fallback: defaultUID, range: uidRange, prohibited: prohibitedUIDs)
        let gid = try Self.check("KERNEL_GID", "GID", env["KERNEL_GID"], fallback: defaultGID, range: gidRange, prohibited: prohibitedGIDs)
        return (uid, gid)
    }

    static func check(_ variable: String, _ what: String, _ text: String?, fallback: Int, range: ClosedRange<Int>,
                      prohibited: Set<Int>) throws(GatewayError) -> Int {
        var value = fallback
        if let text {
            guard let parsed = Int(text), parsed >= 0, parsed <= 2_147_483_647 else {
                throw .invalidRequest("\(variable) must be a number")
            }
            value = parsed
        }
        if value == 0 || prohibited.contains(value) {
            throw .limitReached("Kernel's \(what) value of '\(value)' has been denied\(value == 0 ? ": kernels never run as root" : "")")
        }
        guard text == nil || range.contains(value) else {
            throw .invalidRequest("\(variable) must be within \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    /// Parses `1000-65535` (or a single id).
    public static func parseRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let low = Int(parts[0]), let high = Int(parts.last ?? ""),
              low >= 0, low <= high, high <= 2_147_483_647 else { return nil }
        return low...high
    }
}
