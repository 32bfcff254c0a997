/// Writes JSON string literals (quotes, backslash and control characters escaped; other characters as UTF-8).
enum JSONStringEscaping {
    static func write<Sink: ByteSink>(_ string: String, to sink: inout Sink) {
        var string = string
        string.withUTF8 { bytes in write(bytes, to: &sink) }
    }

    static func write<Sink: ByteSink>(_ bytes: UnsafeBufferPointer<UInt8>, to sink: inout Sink) {
        sink.append(byte: UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            sink.append(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            runStart = index + 1
            switch byte {
            case UInt8(ascii: "\""): sink.append("\\\"")
            case UInt8(ascii: "\\"): sink.append("\\\\")
            case 0x0A: sink.append("\\n")
            case 0x0D: sink.append("\\r")
            case 0x09: sink.append("\\t")
            case 0x08: sink.append("\\b")
            case 0x0C: sink.append("\\f")
            default:
                sink.append("\\u00")
                sink.append(byte: hexDigit(byte >> 4))
                sink.append(byte: hexDigit(byte & 0x0F))
            }
        }
        sink.append(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        sink.append(byte: UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
