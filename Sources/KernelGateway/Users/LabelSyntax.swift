/// Kubernetes label keys and values as the API server checks them.
enum LabelSyntax {
    /// Longest label name (the part after an optional prefix) and longest value.
    static let maxNameLength = 63

    /// A label key: an optional DNS-1123 subdomain prefix and `/`, then a name of 1 to 63 of `A-Z`, `a-z`, `0-9`,
    /// `-`, `_` and `.`, starting and ending alphanumeric.
    static func isKey(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            return DNSName.isSubdomain(String(parts[0])) && isName(String(parts[1]))
        }
        return isName(text)
    }

    /// A label value: empty, or up to 63 of the name alphabet, starting and ending alphanumeric.
    static func isValue(_ text: String) -> Bool {
        text.isEmpty || isName(text)
    }

    private static func isName(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...maxNameLength).contains(scalars.count), let first = scalars.first, let last = scalars.last,
              UsersEntryParser.isAlphanumeric(first), UsersEntryParser.isAlphanumeric(last) else { return false }
        return scalars.allSatisfy { UsersEntryParser.isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }
}
