import Foundation
import Yams

/// One entry of a users file, validated field by field (see ``UsersFileParser``).
enum UsersEntryParser {
    static let fields: Set<String> = ["name", "tokenSHA256", "admin", "kernelspecs", "maxKernels", "namespace", "workspace"]
    static let workspaceFields: Set<String> = ["claim", "mountPath", "namespace", "path", "notebookPodLabels"]

    /// The entry's token hash and identity.
    static func parse(_ node: Node, position: Int) throws(UsersFileError) -> (hash: String, identity: UserIdentity) {
        var entry = "\(position)"
        guard let mapping = node.mapping else { throw .invalidEntry(entry: entry, problem: "must be a mapping") }
        let values = try fieldsOf(mapping, allowed: fields, entry: entry)
        guard let name = values["name"].flatMap(scalar), !name.isEmpty else {
            throw .invalidEntry(entry: entry, problem: "'name' is required")
        }
        guard isSafeName(name) else {
            throw .invalidEntry(entry: entry, problem: "'name' must be 1 to \(UsersFileParser.maxNameLength) of A-Z, a-z, 0-9, '.', '_', '@' and '-', starting with a letter or digit")
        }
        entry = "\(position) ('\(name)')"
        guard let hash = values["tokenSHA256"].flatMap(scalar), isTokenHash(hash) else {
            throw .invalidEntry(entry: entry, problem: "'tokenSHA256' must be exactly 64 lower-case hex digits (the SHA-256 of the token)")
        }
        var identity = UserIdentity(name: name, isAdmin: false)
        if let admin = values["admin"] {
            switch scalar(admin) {
            case "true": identity.isAdmin = true
            case "false": identity.isAdmin = false
            default: throw .invalidEntry(entry: entry, problem: "'admin' must be true or false")
            }
        }
        if let specs = values["kernelspecs"] {
            guard let items = specs.sequence, items.count <= UsersFileParser.maxKernelspecs else {
                throw .invalidEntry(entry: entry, problem: "'kernelspecs' must be a list of at most \(UsersFileParser.maxKernelspecs) names")
            }
            var names: Set<String> = []
            for item in items {
                guard let name = scalar(item), !name.isEmpty, name.utf8.count <= 255 else {
                    throw .invalidEntry(entry: entry, problem: "'kernelspecs' must list kernelspec names")
                }
                names.insert(name)
            }
            identity.kernelspecs = names
        }
        if let limit = values["maxKernels"] {
            guard let text = scalar(limit), let count = Int(text), count >= 0, count <= 1_000_000 else {
                throw .invalidEntry(entry: entry, problem: "'maxKernels' must be a whole number from 0 to 1000000")
            }
            identity.maxKernels = count
        }
        if let namespace = values["namespace"] {
            guard let text = scalar(namespace), DNSName.isLabel(text) else {
                throw .invalidEntry(entry: entry, problem: "'namespace' must be a DNS-1123 label")
            }
            identity.namespace = text
        }
        if let workspace = values["workspace"] {
            identity.workspace = try parseWorkspace(workspace, entry: entry)
        }
        return (hash, identity)
    }

    static func parseWorkspace(_ node: Node, entry: String) throws(UsersFileError) -> UserWorkspace {
        guard let mapping = node.mapping else { throw .invalidEntry(entry: entry, problem: "'workspace' must be a mapping") }
        let values = try fieldsOf(mapping, allowed: workspaceFields, entry: entry)
        guard let claim = values["claim"].flatMap(scalar), DNSName.isSubdomain(claim) else {
            throw .invalidEntry(entry: entry, problem: "'workspace.claim' must be a DNS-1123 name")
        }
        guard let mountPath = values["mountPath"].flatMap(scalar), isAbsolutePath(mountPath) else {
            throw .invalidEntry(entry: entry, problem: "'workspace.mountPath' must be an absolute path without '..'")
        }
        guard let namespace = values["namespace"].flatMap(scalar), DNSName.isLabel(namespace) else {
            throw .invalidEntry(entry: entry, problem: "'workspace.namespace' must be a DNS-1123 label")
        }
        var path: String?
        if let node = values["path"] {
            guard let text = scalar(node), isRelativePath(text) else {
                throw .invalidEntry(entry: entry, problem: "'workspace.path' must be a relative path inside the claim, without '..'")
            }
            path = text
        }
        var labels: [String: String]?
        if let node = values["notebookPodLabels"] { labels = try parseNotebookPodLabels(node, entry: entry) }
        return UserWorkspace(claim: claim, mountPath: mountPath, namespace: namespace, path: path, notebookPodLabels: labels)
    }

    /// The mapping's fields by name; refuses non-text keys, duplicates and fields not in `allowed`.
    static func fieldsOf(_ mapping: Node.Mapping, allowed: Set<String>, entry: String) throws(UsersFileError) -> [String: Node] {
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = scalar(key), allowed.contains(name) else {
                let shown = String((scalar(key) ?? "?").prefix(40))
                throw .invalidEntry(entry: entry, problem: "unknown field '\(shown)' (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard values[name] == nil else { throw .invalidEntry(entry: entry, problem: "field '\(name)' appears twice") }
            values[name] = value
        }
        return values
    }

    /// A scalar's text as written (never resolved to a number or a date).
    static func scalar(_ node: Node) -> String? {
        node.scalar?.string
    }

    static func isSafeName(_ name: String) -> Bool {
        guard name.count <= UsersFileParser.maxNameLength, let first = name.unicodeScalars.first, isAlphanumeric(first) else { return false }
        return name.unicodeScalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "@" || $0 == "-" }
    }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar))
    }

    static func isTokenHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    static func isAbsolutePath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.utf8.count <= 4096 && isCleanPath(path)
    }

    static func isRelativePath(_ path: String) -> Bool {
        !path.hasPrefix("/") && !path.isEmpty && path.utf8.count <= 4096 && isCleanPath(path)
    }

    static func isCleanPath(_ path: String) -> Bool {
        !path.split(separator: "/").contains("..") && !path.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }
}
