extension KubeJSON: Codable {
    /// Decodes any JSON (or YAML) value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode([KubeJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: KubeJSON].self))
        }
    }

    /// Encodes the value as the JSON it represents.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension KubeJSON {
    /// Converts any `Encodable` value into its JSON tree.
    ///
    /// - Throws: `KubernetesError` with kind `.decoding` if the value cannot be encoded.
    public init(encoding value: some Encodable) throws {
        if let json = value as? KubeJSON {
            self = json
            return
        }
        do {
            let data = try JSONCoding.encoder.encode(value)
            self = try JSONCoding.decoder.decode(KubeJSON.self, from: data)
        } catch {
            throw KubernetesError.decodingFailure("cannot convert \(type(of: value)) to JSON: \(error)")
        }
    }

    /// Decodes this JSON tree as a `Decodable` type.
    ///
    /// - Throws: `KubernetesError` with kind `.decoding` if the shape does not match.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        if let same = self as? T { return same }
        do {
            return try JSONCoding.decoder.decode(T.self, from: JSONCoding.encoder.encode(self))
        } catch {
            throw KubernetesError.decodingFailure("cannot decode \(T.self) from JSON: \(error)")
        }
    }
}
