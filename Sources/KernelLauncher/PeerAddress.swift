/// Textual IP addresses compared as the listener sees them: lower-cased, an IPv4-mapped IPv6 address
/// (`::ffff:10.0.0.5`) as its IPv4 form, IPv6 brackets removed.
enum PeerAddress {
    static func normalize(_ address: String) -> String {
        var text = address.lowercased()
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.hasPrefix("::ffff:"), text.dropFirst(7).contains(".") { text = String(text.dropFirst(7)) }
        return text
    }
}
