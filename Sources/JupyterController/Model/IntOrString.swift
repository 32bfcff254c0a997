/// A Kubernetes `int-or-string` value, such as a quantity (`2`, `"500m"`, `"8Gi"`) or a port.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    /// An integer.
    case int(Int64)
    /// A string.
    case string(String)

    /// Decodes an integer or a string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int64.self) {
            self = .int(number)
        } else if let number = try? container.decode(Double.self) {
            self = .string(String(number))
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// Encodes the value as it is.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        }
    }

    /// The value as text (`2`, `500m`).
    public var description: String {
        switch self {
        case .int(let number): return String(number)
        case .string(let text): return text
        }
    }
}
