import Logging

/// Writes log lines through another handler with every control character escaped, in the message and in
/// metadata values: a client string (a user name, a session id, a bad value) can never start a new, forged
/// log line or carry terminal escape sequences. Values are also cut to `maxValueLength` characters.
struct EscapingLogHandler: LogHandler {
    var base: any LogHandler
    /// Longest metadata value written, in characters.
    static let maxValueLength = 512

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(Self.escape(event.message.description, limit: Int.max))"
        event.metadata = event.metadata?.mapValues(Self.escape)
        base.log(event: event)
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): return .string(escape(text, limit: maxValueLength))
        case .stringConvertible(let convertible): return .string(escape(convertible.description, limit: maxValueLength))
        case .array(let values): return .array(values.map(escape))
        case .dictionary(let values): return .dictionary(values.mapValues(escape))
        }
    }

    /// `\n` → `\\n`, ESC → `\\u{1B}`, U+2028 → `\\u{2028}`…; printable text unchanged.
    static func escape(_ text: String, limit: Int) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                result += "…"
                break
            }
            count += 1
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
                    || (0x202a...0x202e).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                    result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }
}
