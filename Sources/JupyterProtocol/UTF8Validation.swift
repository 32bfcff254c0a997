/// Well-formed UTF-8 checks on raw bytes (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
enum UTF8Validation {
    /// Returns the index just past the multi-byte scalar whose lead byte (>= 0x80) is at `index`,
    /// or `nil` if the sequence there is not well-formed.
    @inline(__always)
    static func scalarEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let lead = bytes[index]
        let count = bytes.count
        @inline(__always) func continuation(_ offset: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
            index + offset < count && bytes[index + offset] >= low && bytes[index + offset] <= high
        }
        switch lead {
        case 0xC2...0xDF:
            return continuation(1) ? index + 2 : nil
        case 0xE0:
            return continuation(1, 0xA0) && continuation(2) ? index + 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(1) && continuation(2) ? index + 3 : nil
        case 0xED:
            return continuation(1, 0x80, 0x9F) && continuation(2) ? index + 3 : nil
        case 0xF0:
            return continuation(1, 0x90) && continuation(2) && continuation(3) ? index + 4 : nil
        case 0xF1...0xF3:
            return continuation(1) && continuation(2) && continuation(3) ? index + 4 : nil
        case 0xF4:
            return continuation(1, 0x80, 0x8F) && continuation(2) && continuation(3) ? index + 4 : nil
        default:
            return nil
        }
    }

    /// Whether all of `bytes` is well-formed UTF-8.
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                index += 1
            } else if let next = scalarEnd(bytes, at: index) {
                index = next
            } else {
                return false
            }
        }
        return true
    }
}
