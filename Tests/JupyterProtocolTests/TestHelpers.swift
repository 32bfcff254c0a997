import JupyterProtocol

extension Array where Element == UInt8 {
    /// UTF-8 bytes of a string literal.
    init(utf8 string: String) { self = Array(string.utf8) }
}

func u64le(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

func u32be(_ value: UInt32) -> [UInt8] {
    (0..<4).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
}

/// A sample message used by the unit tests.
func sampleParts(buffers: [[UInt8]] = []) -> MessageParts {
    MessageParts(
        header: Array(utf8: #"{"msg_id": "m1", "msg_type": "execute_request", "username": "u", "session": "s1", "date": "2024-01-01T00:00:00.000001Z", "version": "5.3"}"#),
        parentHeader: Array(utf8: "{}"),
        metadata: Array(utf8: "{}"),
        content: Array(utf8: #"{"code": "1+1", "silent": false}"#),
        buffers: buffers
    )
}

/// A v1 frame with an explicit offset table (for malformed-input tests).
func rawV1Frame(offsetCount: UInt64, offsets: [UInt64], payload: [UInt8]) -> [UInt8] {
    u64le(offsetCount) + offsets.flatMap(u64le) + payload
}
