import Foundation

/// A notebook session: which kernel serves which notebook path, for whom.
struct SessionRecord: Sendable, Equatable {
    var id: String
    var path: String
    var name: String
    var type: String
    var kernelID: String
    /// The user who created it (nil for an admin with no name): sessions are scoped by user, so two users' notebooks
    /// at one path are two sessions.
    var owner: String? = nil

    /// The key of its path lookup: one per user and path.
    var pathKey: String { Self.pathKey(path, owner: owner) }

    static func pathKey(_ path: String, owner: String?) -> String { (owner ?? "") + "\u{0}" + path }
}

/// The gateway's sessions, in memory (as EG's, but with GET and PATCH working), bounded in number: each
/// session costs memory and every request that looks one up by path, so `limit` caps them.
actor SessionStore {
    private var sessions: [String: SessionRecord] = [:]
    private var order: [String] = []
    private var byPath: [String: String] = [:]
    /// Most sessions kept at once.
    let limit: Int

    /// Longest `path`, `name` or `type` accepted, in UTF-8 bytes.
    static let maxFieldBytes = 4096

    init(limit: Int = 1000) {
        self.limit = max(1, limit)
    }

    /// Whether another session fits.
    var isFull: Bool { sessions.count >= limit }

    func all() -> [SessionRecord] { order.compactMap { sessions[$0] } }

    func get(_ id: String) -> SessionRecord? { sessions[id] }

    /// The session of `owner` for `path`, if any.
    func session(forPath path: String, owner: String? = nil) -> SessionRecord? {
        byPath[SessionRecord.pathKey(path, owner: owner)].flatMap { sessions[$0] }
    }

    /// Adds or replaces a session; false (and nothing stored) when it is new and the store is full.
    @discardableResult
    func insert(_ record: SessionRecord) -> Bool {
        if let old = sessions[record.id] {
            if byPath[old.pathKey] == old.id { byPath[old.pathKey] = nil }
        } else {
            guard !isFull else { return false }
            order.append(record.id)
        }
        sessions[record.id] = record
        if byPath[record.pathKey] == nil { byPath[record.pathKey] = record.id }
        return true
    }

    @discardableResult
    func remove(_ id: String) -> SessionRecord? {
        guard let record = sessions.removeValue(forKey: id) else { return nil }
        order.removeAll { $0 == id }
        if byPath[record.pathKey] == id {
            byPath[record.pathKey] = order.lazy.compactMap { self.sessions[$0] }.first { $0.pathKey == record.pathKey }?.id
        }
        return record
    }

    /// Drops sessions whose kernel no longer exists.
    func prune(liveKernels: Set<String>) {
        for record in all() where !liveKernels.contains(record.kernelID) { remove(record.id) }
    }
}
