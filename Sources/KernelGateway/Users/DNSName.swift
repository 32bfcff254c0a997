/// DNS-1123 names as Kubernetes checks them (object names and namespaces).
enum DNSName {
    /// A DNS-1123 label: 1 to 63 of `a-z`, `0-9` and `-`, starting and ending alphanumeric.
    static func isLabel(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...63).contains(scalars.count), let first = scalars.first, let last = scalars.last,
              isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        return scalars.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }

    /// A DNS-1123 subdomain: at most 253 characters, dot-separated labels.
    static func isSubdomain(_ text: String) -> Bool {
        text.utf8.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isLabel(String($0)) }
    }

    private static func isLowerAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
