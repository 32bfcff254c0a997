import Foundation
import Yams

/// Parses a users file: a top-level `users:` list of entries with `name`, `tokenSHA256` and optionally `admin`,
/// `kernelspecs`, `maxKernels` and `workspace` (`claim`, `mountPath`, `namespace`, `path`, `notebookPodLabels`).
///
/// Hostile input is bounded before any YAML tree is built: at most ``maxBytes``, no anchors, aliases or tags, and
/// at most ``maxEntries`` entries. Values are read as the text the file holds (a hash is never taken for a number);
/// unknown fields of an entry are refused, so a misspelt `admin` never passes silently.
public enum UsersFileParser {
    /// Largest file read, in bytes (1 MiB).
    public static let maxBytes = 1 << 20
    /// Most entries accepted.
    public static let maxEntries = 10_000
    /// Longest user name, in characters.
    public static let maxNameLength = 253
    /// Most kernelspec names one entry may list.
    static let maxKernelspecs = 1000

    /// Parses the file's bytes.
    public static func parse(_ data: Data) throws(UsersFileError) -> UserDirectory {
        guard data.count <= maxBytes else { throw .tooLarge(bytes: data.count) }
        guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8 }
        return try parse(text)
    }

    /// Parses the file's text.
    public static func parse(_ text: String) throws(UsersFileError) -> UserDirectory {
        do {
            try RequestYAML.check(text, limit: maxBytes)
        } catch .tooLarge {
            throw .tooLarge(bytes: text.utf8.count)
        } catch .tooDeep {
            throw .unsafeYAML("is nested more than \(RequestYAML.maxFlowDepth) levels deep")
        } catch {
            throw .unsafeYAML("may not use YAML anchors, aliases or tags")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw .malformed("not YAML") }
        guard let top = root?.mapping else { throw .malformed("the top level must be a mapping with a 'users' list") }
        guard let list = top["users"] else { throw .malformed("no 'users' list") }
        if list.scalar?.string == "" || list.scalar?.string == "null" || list.scalar?.string == "~" { return .empty }
        guard let entries = list.sequence else { throw .malformed("'users' must be a list") }
        guard entries.count <= maxEntries else { throw .tooManyEntries(entries.count) }
        var byHash: [String: UserIdentity] = [:]
        var names: Set<String> = []
        for (index, node) in entries.enumerated() {
            let (hash, identity) = try UsersEntryParser.parse(node, position: index + 1)
            let label = "\(index + 1) ('\(identity.name ?? "")')"
            guard names.insert(identity.name ?? "").inserted else { throw .duplicateName(identity.name ?? "") }
            guard byHash[hash] == nil else { throw .duplicateToken(entry: label) }
            byHash[hash] = identity
        }
        return UserDirectory(usersByTokenHash: byHash)
    }
}
