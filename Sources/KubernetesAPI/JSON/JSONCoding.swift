import Foundation

/// Shared JSON coders (stateless after configuration, so safe to share).
enum JSONCoding {
    /// Encoder used for request bodies; keys sorted so bodies are stable in logs and tests.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Decoder used for response bodies.
    static let decoder = JSONDecoder()
}
