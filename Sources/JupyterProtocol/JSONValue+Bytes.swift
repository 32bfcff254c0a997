extension JSONValue {
    /// Deepest nesting accepted by ``parse(_:)`` (it recurses).
    static let maxParseDepth = 512

    /// Parses UTF-8 JSON bytes (RFC 8259; duplicate keys: last wins).
    /// - Parameter bytes: The JSON document.
    /// - Throws: ``ProtocolError/invalidJSON(_:)`` or ``ProtocolError/invalidUTF8``.
    public static func parse(_ bytes: [UInt8]) throws(ProtocolError) -> JSONValue {
        try withBytes(bytes) { buffer throws(ProtocolError) in
            let scanner = JSONScanner(buffer)
            try scanner.validateDocument()
            var parser = Parser(scanner: scanner)
            return try parser.value(at: scanner.skipWhitespace(0), depth: 0).value
        }
    }

    /// Parses a JSON string.
    /// - Throws: ``ProtocolError/invalidJSON(_:)``.
    public static func parse(_ text: String) throws(ProtocolError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Compact UTF-8 JSON (`{"a":1}` style; object keys sorted for determinism; non-ASCII kept as UTF-8;
    /// integral numbers below 2^53 written without a fraction; NaN and infinities written as `null`).
    public func serialized() -> [UInt8] {
        Encoding(value: self).makeBytes()
    }

    /// Compact JSON text, as ``serialized()``.
    public var jsonString: String {
        Encoding(value: self).makeString()
    }

    struct Encoding: ByteEncoding {
        let value: JSONValue

        func write<Sink: ByteSink>(to sink: inout Sink) {
            Self.write(value, to: &sink)
        }

        static func write<Sink: ByteSink>(_ value: JSONValue, to sink: inout Sink) {
            switch value {
            case .null: sink.append("null")
            case .bool(let flag): sink.append(flag ? "true" : "false")
            case .number(let number): writeNumber(number, to: &sink)
            case .string(let string): JSONStringEscaping.write(string, to: &sink)
            case .array(let elements):
                sink.append(byte: UInt8(ascii: "["))
                for (index, element) in elements.enumerated() {
                    if index > 0 { sink.append(byte: UInt8(ascii: ",")) }
                    write(element, to: &sink)
                }
                sink.append(byte: UInt8(ascii: "]"))
            case .object(let members):
                sink.append(byte: UInt8(ascii: "{"))
                for (index, key) in members.keys.sorted().enumerated() {
                    if index > 0 { sink.append(byte: UInt8(ascii: ",")) }
                    JSONStringEscaping.write(key, to: &sink)
                    sink.append(byte: UInt8(ascii: ":"))
                    write(members[key]!, to: &sink)
                }
                sink.append(byte: UInt8(ascii: "}"))
            }
        }

        private static func writeNumber<Sink: ByteSink>(_ number: Double, to sink: inout Sink) {
            guard number.isFinite else { return sink.append("null") }
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 {
                sink.append(utf8: String(Int64(number)))
            } else {
                sink.append(utf8: number.description)
            }
        }
    }

    private struct Parser {
        let scanner: JSONScanner

        /// Parses the (already validated) value at `start`; returns it and the index past it.
        mutating func value(at start: Int, depth: Int) throws(ProtocolError) -> (value: JSONValue, end: Int) {
            let bytes = scanner.bytes
            switch bytes[start] {
            case UInt8(ascii: "{"):
                guard depth < JSONValue.maxParseDepth else { throw .invalidJSON("nesting deeper than \(JSONValue.maxParseDepth)") }
                var members: [String: JSONValue] = [:]
                var index = scanner.skipWhitespace(start + 1)
                if bytes[index] == UInt8(ascii: "}") { return (.object(members), index + 1) }
                while true {
                    let key = try scanner.scanString(index)
                    let name = scanner.decodeString(index + 1, key.end - 1, escaped: key.escaped)
                    index = scanner.skipWhitespace(scanner.skipWhitespace(key.end) + 1)
                    let member = try value(at: index, depth: depth + 1)
                    members[name] = member.value
                    index = scanner.skipWhitespace(member.end)
                    if bytes[index] == UInt8(ascii: "}") { return (.object(members), index + 1) }
                    index = scanner.skipWhitespace(index + 1)
                }
            case UInt8(ascii: "["):
                guard depth < JSONValue.maxParseDepth else { throw .invalidJSON("nesting deeper than \(JSONValue.maxParseDepth)") }
                var elements: [JSONValue] = []
                var index = scanner.skipWhitespace(start + 1)
                if bytes[index] == UInt8(ascii: "]") { return (.array(elements), index + 1) }
                while true {
                    let element = try value(at: index, depth: depth + 1)
                    elements.append(element.value)
                    index = scanner.skipWhitespace(element.end)
                    if bytes[index] == UInt8(ascii: "]") { return (.array(elements), index + 1) }
                    index = scanner.skipWhitespace(index + 1)
                }
            case UInt8(ascii: "\""):
                let string = try scanner.scanString(start)
                return (.string(scanner.decodeString(start + 1, string.end - 1, escaped: string.escaped)), string.end)
            case UInt8(ascii: "t"): return (.bool(true), start + 4)
            case UInt8(ascii: "f"): return (.bool(false), start + 5)
            case UInt8(ascii: "n"): return (.null, start + 4)
            default:
                let end = try scanner.scanNumber(start)
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                guard let number = Double(text) else { throw .invalidJSON("unrepresentable number \(text)") }
                return (.number(number), end)
            }
        }
    }
}
