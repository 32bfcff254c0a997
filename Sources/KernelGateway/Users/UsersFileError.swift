/// Why a users file (or the users Secret's `users.yaml`) was refused. The gateway keeps the last good one (or, at
/// start, refuses to start) and logs the description, which names the entry and field but never a token hash.
public enum UsersFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Larger than ``UsersFileParser/maxBytes``.
    case tooLarge(bytes: Int)
    /// Not UTF-8.
    case notUTF8
    /// Uses YAML anchors, aliases or tags, or nests too deeply.
    case unsafeYAML(String)
    /// Not YAML, or not a mapping with a `users:` list.
    case malformed(String)
    /// More entries than ``UsersFileParser/maxEntries``.
    case tooManyEntries(Int)
    /// An entry is wrong; `entry` is its position (from 1) and name when known.
    case invalidEntry(entry: String, problem: String)
    /// Two entries have the same name.
    case duplicateName(String)
    /// Two entries have the same token hash (named by the second entry).
    case duplicateToken(entry: String)
    /// The file (or Secret) could not be read.
    case unreadable(String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes): return "the users file has \(bytes) bytes; at most \(UsersFileParser.maxBytes) are read"
        case .notUTF8: return "the users file is not UTF-8"
        case .unsafeYAML(let problem): return "the users file \(problem)"
        case .malformed(let problem): return "the users file is malformed: \(problem)"
        case .tooManyEntries(let count): return "the users file has \(count) entries; at most \(UsersFileParser.maxEntries) are allowed"
        case .invalidEntry(let entry, let problem): return "users entry \(entry): \(problem)"
        case .duplicateName(let name): return "two users entries are named '\(name)'"
        case .duplicateToken(let entry): return "users entry \(entry) has the same tokenSHA256 as an earlier entry"
        case .unreadable(let reason): return "the users file cannot be read: \(reason)"
        }
    }
}
