/// Names of the objects a gateway's replicas share (their roster leases, the kernel slot ledger): DNS names
/// built from the gateway's and the replica's names, kept distinct by a hash when shortened.
enum ReplicaObjectNames {
    /// Eight hex digits identifying `text` (FNV-1a): keeps names distinct after they were shortened.
    static func shortHash(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash & 0xffff_ffff, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// `text` as a piece of a DNS name: lower-case letters, digits and `-`, at most `limit` characters.
    static func dnsPiece(_ text: String, limit: Int) -> String {
        let mapped = String(text.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(limit))
        return mapped.split(separator: "-").joined(separator: "-")
    }
}
