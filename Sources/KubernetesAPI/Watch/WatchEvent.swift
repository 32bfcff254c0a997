/// The `type` of a watch event.
public enum WatchEventType: String, Sendable, Hashable, Codable {
    /// An object was added (or already existed when watching without a resourceVersion).
    case added = "ADDED"
    /// An object changed.
    case modified = "MODIFIED"
    /// An object was deleted (the event carries its last state).
    case deleted = "DELETED"
    /// Progress marker: the collection reached a resourceVersion; no object changed.
    case bookmark = "BOOKMARK"
    /// The server reports an error (a `Status`).
    case error = "ERROR"
}

/// One event of a watch.
public enum WatchEvent<Object: KubernetesObject>: Sendable {
    /// An object was added.
    case added(Object)
    /// An object changed.
    case modified(Object)
    /// An object was deleted.
    case deleted(Object)
    /// The collection reached `resourceVersion`; resume from it.
    case bookmark(resourceVersion: String)
    /// A non-fatal error from the server (a 410 / `Expired` error is thrown instead).
    case error(KubeStatus)

    /// The event type.
    public var type: WatchEventType {
        switch self {
        case .added: return .added
        case .modified: return .modified
        case .deleted: return .deleted
        case .bookmark: return .bookmark
        case .error: return .error
        }
    }

    /// The object of ADDED/MODIFIED/DELETED events.
    public var object: Object? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): return object
        case .bookmark, .error: return nil
        }
    }

    /// The resourceVersion to resume from after this event, if it carries one.
    public var resourceVersion: String? {
        switch self {
        case .bookmark(let version): return version
        case .added(let object), .modified(let object), .deleted(let object): return object.metadata.resourceVersion
        case .error: return nil
        }
    }
}

/// Wire form of a watch event, decoded according to its `type`.
struct RawWatchEvent<Object: KubernetesObject>: Decodable {
    /// `nil` for event types this client does not know (they are skipped).
    var event: WatchEvent<Object>?

    private enum Key: String, CodingKey { case type, object }

    private struct Bookmark: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta?
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let type = try c.decode(String.self, forKey: .type)
        switch WatchEventType(rawValue: type) {
        case .added: event = .added(try c.decode(Object.self, forKey: .object))
        case .modified: event = .modified(try c.decode(Object.self, forKey: .object))
        case .deleted: event = .deleted(try c.decode(Object.self, forKey: .object))
        case .bookmark:
            let bookmark = try c.decodeIfPresent(Bookmark.self, forKey: .object)
            event = .bookmark(resourceVersion: bookmark?.metadata?.resourceVersion ?? "")
        case .error:
            let status = try c.decodeIfPresent(KubeStatus.self, forKey: .object)
            event = .error(status ?? KubeStatus(code: nil, reason: nil, message: "watch error without status"))
        case nil:
            event = nil
        }
    }
}
