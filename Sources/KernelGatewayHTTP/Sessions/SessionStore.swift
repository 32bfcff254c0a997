import Foundation

/// A notebook session: which kernel serves which notebook path.
struct SessionRecord: Sendable, Equatable {
    var id: String
    var path: String
    var name: String
    var type: String
    var kernelID: String
}

/// The gateway's sessions, in memory (as EG's, but with GET and PATCH working).
actor SessionStore {
    private var sessions: [String: SessionRecord] = [:]
    private var order: [String] = []

    func all() -> [SessionRecord] { order.compactMap { sessions[$0] } }

    func get(_ id: String) -> SessionRecord? { sessions[id] }

    func session(forPath path: String) -> SessionRecord? { all().first { $0.path == path } }

    func insert(_ record: SessionRecord) {
        if sessions.updateValue(record, forKey: record.id) == nil { order.append(record.id) }
    }

    @discardableResult
    func remove(_ id: String) -> SessionRecord? {
        order.removeAll { $0 == id }
        return sessions.removeValue(forKey: id)
    }

    /// Drops sessions whose kernel no longer exists.
    func prune(liveKernels: Set<String>) {
        for record in all() where !liveKernels.contains(record.kernelID) { remove(record.id) }
    }
}
