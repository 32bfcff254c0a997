/// Splits JSON text into the byte ranges of its top-level parts without parsing the values, so that one
/// value a decoder refuses (too deep, a number out of range, a wrong type) does not take its siblings down.
///
/// The scan is iterative: any nesting depth is fine. It checks structure only as far as it needs to find
/// where each value ends; the values themselves are checked by whoever decodes the slices.
enum JSONSlices {
    /// The members of the object that `range` holds (`{ … }`), by key, as value ranges.
    /// - Returns: `nil` if `range` does not hold an object.
    static func members(of bytes: [UInt8], in range: Range<Int>) -> [String: Range<Int>]? {
        var index = skipSpace(bytes, range.lowerBound, range.upperBound)
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var members: [String: Range<Int>] = [:]
        while true {
            index = skipSpace(bytes, index, range.upperBound)
            guard index < range.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return members }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "\""), let keyEnd = endOfValue(bytes, index, range.upperBound) else { return nil }
            let key = String(decoding: bytes[(index + 1)..<(keyEnd - 1)], as: UTF8.self)
            index = skipSpace(bytes, keyEnd, range.upperBound)
            guard index < range.upperBound, bytes[index] == UInt8(ascii: ":") else { return nil }
            let start = skipSpace(bytes, index + 1, range.upperBound)
            guard let end = endOfValue(bytes, start, range.upperBound) else { return nil }
            members[key] = start..<end
            index = end
        }
    }

    /// The elements of the array that `range` holds (`[ … ]`), as value ranges.
    /// - Returns: `nil` if `range` does not hold an array.
    static func elements(of bytes: [UInt8], in range: Range<Int>) -> [Range<Int>]? {
        var index = skipSpace(bytes, range.lowerBound, range.upperBound)
        guard index < range.upperBound, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var elements: [Range<Int>] = []
        while true {
            index = skipSpace(bytes, index, range.upperBound)
            guard index < range.upperBound else { return nil }
            if bytes[index] == UInt8(ascii: "]") { return elements }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard let end = endOfValue(bytes, index, range.upperBound) else { return nil }
            elements.append(index..<end)
            index = end
        }
    }

    /// The index just past the value starting at `start`, or `nil` if it does not end before `limit`.
    static func endOfValue(_ bytes: [UInt8], _ start: Int, _ limit: Int) -> Int? {
        guard start < limit else { return nil }
        var depth = 0
        var index = start
        var inString = false
        while index < limit {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") {
                    inString = false
                    if depth == 0 { return index + 1 }
                }
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if depth == 0 { return index }
                depth -= 1
                if depth == 0 { return index + 1 }
            case UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                if depth == 0 { return index }
            default:
                break
            }
            index += 1
        }
        return depth == 0 && !inString && index > start ? index : nil
    }

    private static func skipSpace(_ bytes: [UInt8], _ start: Int, _ limit: Int) -> Int {
        var index = start
        while index < limit, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[index]) { index += 1 }
        return index
    }
}
