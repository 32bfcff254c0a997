/// One `"key": value` member of a JSON object, as byte positions in the scanned buffer.
struct JSONMember {
    /// First byte of the key, just after its opening quote.
    var keyStart: Int
    /// Index of the key's closing quote.
    var keyEnd: Int
    /// Whether the key contains backslash escapes.
    var keyEscaped: Bool
    /// First byte of the value.
    var valueStart: Int
    /// Index just past the value.
    var valueEnd: Int
}

/// A validating JSON scanner over raw bytes that skips values without building a tree.
///
/// All positions are indices into ``bytes``. Validation follows RFC 8259 (no NaN/Infinity, no control characters
/// in strings, well-formed UTF-8), with nesting limited to ``maxDepth``.
struct JSONScanner {
    /// The bytes being scanned.
    let bytes: UnsafeBufferPointer<UInt8>
    /// Deepest nesting of arrays/objects accepted (CPython's default recursion limit is in the same range).
    static let maxDepth = 1024

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    @inline(__always)
    func skipWhitespace(_ start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    /// Scans the string whose opening quote is at `start`; returns the index past the closing quote.
    func scanString(_ start: Int) throws(ProtocolError) -> (end: Int, escaped: Bool) {
        let count = bytes.count
        var index = start + 1
        var escaped = false
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                return (index + 1, escaped)
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                guard index + 1 < count else { break }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < count, Self.hexValue(bytes[index + 2]) != nil, Self.hexValue(bytes[index + 3]) != nil,
                          Self.hexValue(bytes[index + 4]) != nil, Self.hexValue(bytes[index + 5]) != nil
                    else { throw .invalidJSON("invalid \\u escape at byte \(index)") }
                    index += 6
                default:
                    throw .invalidJSON("invalid escape at byte \(index)")
                }
            } else if byte < 0x20 {
                throw .invalidJSON("control character in string at byte \(index)")
            } else if byte < 0x80 {
                index += 1
            } else {
                guard let next = UTF8Validation.scalarEnd(bytes, at: index) else { throw .invalidUTF8 }
                index = next
            }
        }
        throw .invalidJSON("unterminated string")
    }

    /// Scans the number starting at `start`; returns the index past it.
    func scanNumber(_ start: Int) throws(ProtocolError) -> Int {
        let count = bytes.count
        var index = start
        @inline(__always) func isDigit(_ at: Int) -> Bool {
            at < count && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9")
        }
        if index < count && bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw .invalidJSON("invalid number at byte \(start)") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw .invalidJSON("invalid number at byte \(start)") }
            while isDigit(index) { index += 1 }
        }
        if index < count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            index += 1
            if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) { index += 1 }
            guard isDigit(index) else { throw .invalidJSON("invalid number at byte \(start)") }
            while isDigit(index) { index += 1 }
        }
        return index
    }

    private func scanLiteral(_ start: Int) throws(ProtocolError) -> Int {
        let literal: StaticString
        switch bytes[start] {
        case UInt8(ascii: "t"): literal = "true"
        case UInt8(ascii: "f"): literal = "false"
        default: literal = "null"
        }
        let length = literal.utf8CodeUnitCount
        guard start + length <= bytes.count else { throw .invalidJSON("invalid literal at byte \(start)") }
        let expected = literal.utf8Start
        for offset in 0..<length where bytes[start + offset] != expected[offset] {
            throw .invalidJSON("invalid literal at byte \(start)")
        }
        return start + length
    }

    /// Scans `"key" :` starting at `start` (which must be the key's quote); returns the index of the value.
    private func scanKeyAndColon(_ start: Int) throws(ProtocolError) -> Int {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "\"") else {
            throw .invalidJSON("expected an object key at byte \(start)")
        }
        let index = skipWhitespace(try scanString(start).end)
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
            throw .invalidJSON("expected ':' at byte \(index)")
        }
        return skipWhitespace(index + 1)
    }

    /// Validates the JSON value starting at `start` (leading whitespace allowed); returns the index past it.
    ///
    /// Iterative: nesting is tracked in a 64-bit word, spilling to an array only beyond 64 levels.
    func skipValue(_ start: Int) throws(ProtocolError) -> Int {
        let count = bytes.count
        var index = skipWhitespace(start)
        var depth = 0
        var objectBits: UInt64 = 0
        var deepLevels: [Bool] = []

        @inline(__always) func push(_ isObject: Bool) throws(ProtocolError) {
            depth += 1
            guard depth <= Self.maxDepth else { throw .invalidJSON("nesting deeper than \(Self.maxDepth)") }
            if depth <= 64 {
                let bit: UInt64 = 1 << UInt64(depth - 1)
                if isObject { objectBits |= bit } else { objectBits &= ~bit }
            } else {
                deepLevels.append(isObject)
            }
        }

        while true {
            // A value starts at `index`.
            guard index < count else { throw .invalidJSON("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index = skipWhitespace(index + 1)
                if index < count && bytes[index] == UInt8(ascii: "}") {
                    index += 1
                } else {
                    try push(true)
                    index = try scanKeyAndColon(index)
                    continue
                }
            case UInt8(ascii: "["):
                index = skipWhitespace(index + 1)
                if index < count && bytes[index] == UInt8(ascii: "]") {
                    index += 1
                } else {
                    try push(false)
                    continue
                }
            case UInt8(ascii: "\""):
                index = try scanString(index).end
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                index = try scanNumber(index)
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                index = try scanLiteral(index)
            default:
                throw .invalidJSON("unexpected byte at \(index)")
            }
            // A value ended at `index`: close containers or move to the next element.
            closing: while true {
                if depth == 0 { return index }
                index = skipWhitespace(index)
                guard index < count else { throw .invalidJSON("unexpected end of input") }
                let inObject = depth <= 64 ? (objectBits >> UInt64(depth - 1)) & 1 == 1 : deepLevels[depth - 65]
                let byte = bytes[index]
                if byte == UInt8(ascii: ",") {
                    index = skipWhitespace(index + 1)
                    if inObject { index = try scanKeyAndColon(index) }
                    break closing
                }
                guard byte == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw .invalidJSON("expected ',' or a closing bracket at byte \(index)")
                }
                index += 1
                if depth > 64 { deepLevels.removeLast() }
                depth -= 1
            }
        }
    }

    /// Validates the whole buffer as exactly one JSON value (surrounding whitespace allowed).
    func validateDocument() throws(ProtocolError) {
        let end = try skipValue(0)
        guard skipWhitespace(end) == bytes.count else { throw .invalidJSON("trailing characters after JSON value") }
    }

    /// Validates the whole buffer as exactly one JSON object.
    func validateObjectDocument(_ what: StaticString) throws(ProtocolError) {
        let start = skipWhitespace(0)
        guard start < bytes.count, bytes[start] == UInt8(ascii: "{") else { throw .invalidJSON("\(what) is not a JSON object") }
        try validateDocument()
    }

    /// Walks the members of the object starting at `start` (leading whitespace allowed), validating each value.
    /// - Returns: The index past the closing brace.
    func forEachMember(_ start: Int, _ body: (JSONMember) -> Void) throws(ProtocolError) -> Int {
        let count = bytes.count
        var index = skipWhitespace(start)
        guard index < count, bytes[index] == UInt8(ascii: "{") else { throw .invalidJSON("expected a JSON object") }
        index = skipWhitespace(index + 1)
        if index < count && bytes[index] == UInt8(ascii: "}") { return index + 1 }
        while true {
            guard index < count, bytes[index] == UInt8(ascii: "\"") else {
                throw .invalidJSON("expected an object key at byte \(index)")
            }
            let key = try scanString(index)
            let keyStart = index + 1
            index = skipWhitespace(key.end)
            guard index < count, bytes[index] == UInt8(ascii: ":") else { throw .invalidJSON("expected ':' at byte \(index)") }
            let valueStart = skipWhitespace(index + 1)
            let valueEnd = try skipValue(valueStart)
            body(JSONMember(keyStart: keyStart, keyEnd: key.end - 1, keyEscaped: key.escaped,
                            valueStart: valueStart, valueEnd: valueEnd))
            index = skipWhitespace(valueEnd)
            guard index < count else { throw .invalidJSON("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index = skipWhitespace(index + 1)
            } else if bytes[index] == UInt8(ascii: "}") {
                return index + 1
            } else {
                throw .invalidJSON("expected ',' or '}' at byte \(index)")
            }
        }
    }

    /// Whether the member's key equals `name` (an ASCII/UTF-8 literal), decoding escapes if the key has any.
    @inline(__always)
    func key(of member: JSONMember, is name: StaticString) -> Bool {
        if member.keyEscaped {
            return decodeString(member.keyStart, member.keyEnd, escaped: true) == name.description
        }
        let length = name.utf8CodeUnitCount
        guard member.keyEnd - member.keyStart == length else { return false }
        let expected = name.utf8Start
        for offset in 0..<length where bytes[member.keyStart + offset] != expected[offset] {
            return false
        }
        return true
    }

    /// The value of a member if it is a JSON string, unescaped; `nil` otherwise.
    func stringValue(of member: JSONMember) -> String? {
        guard bytes[member.valueStart] == UInt8(ascii: "\"") else { return nil }
        var escaped = false
        for index in (member.valueStart + 1)..<(member.valueEnd - 1) where bytes[index] == UInt8(ascii: "\\") {
            escaped = true
            break
        }
        return decodeString(member.valueStart + 1, member.valueEnd - 1, escaped: escaped)
    }

    /// Whether the value at `range` is `null`.
    func isNull(_ range: Range<Int>) -> Bool {
        range.count == 4 && bytes[range.lowerBound] == UInt8(ascii: "n")
    }

    /// Whether the (validated) value at `range` is an empty array or an empty object.
    func isEmptyContainer(_ range: Range<Int>) -> Bool {
        let first = bytes[range.lowerBound]
        guard first == UInt8(ascii: "[") || first == UInt8(ascii: "{") else { return false }
        return skipWhitespace(range.lowerBound + 1) == range.upperBound - 1
    }

    /// Decodes the (already validated) string body between `start` and `end` (exclusive, quotes excluded).
    func decodeString(_ start: Int, _ end: Int, escaped: Bool) -> String {
        guard escaped else {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        var output: [UInt8] = []
        output.reserveCapacity(end - start)
        var index = start
        while index < end {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < end else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4(index, end) else { output.append(contentsOf: [0xEF, 0xBF, 0xBD]); continue }
                index += 4
                var scalar: Unicode.Scalar? = Unicode.Scalar(unit)
                if (0xD800...0xDBFF).contains(unit), index + 5 < end, bytes[index] == UInt8(ascii: "\\"),
                   bytes[index + 1] == UInt8(ascii: "u"), let low = hex4(index + 2, end), (0xDC00...0xDFFF).contains(low) {
                    scalar = Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00))
                    index += 6
                }
                let value = scalar ?? "\u{FFFD}"
                output.append(contentsOf: UTF8.encode(value)!)
            default: output.append(escape)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private func hex4(_ start: Int, _ end: Int) -> UInt16? {
        guard start + 4 <= end else { return nil }
        var value: UInt16 = 0
        for index in start..<(start + 4) {
            guard let digit = Self.hexValue(bytes[index]) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
