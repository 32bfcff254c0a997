import Foundation

/// Percent-encoding of query strings and path segments.
enum QueryEncoding {
    /// RFC 3986 unreserved characters; everything else is escaped.
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `a=1&b=x%3Dy`.
    static func encode(_ items: [(String, String)]) -> String {
        items.map { key, value in
            "\(escape(key))=\(escape(value))"
        }.joined(separator: "&")
    }

    static func escape(_ string: String) -> String {
        string.addingPercentEncoding(withAllowedCharacters: unreserved) ?? string
    }
}
