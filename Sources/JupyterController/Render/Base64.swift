import Foundation

/// Base64 for Secret `data`.
enum Base64 {
    /// Encodes UTF-8 text.
    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// Decodes to UTF-8 text; `nil` when the input is not base64 or not UTF-8.
    static func decode(_ text: String) -> String? {
        guard let data = Data(base64Encoded: text) else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
