import DequeModule
import Foundation
import JupyterProtocol

/// A kernel's most recent iopub messages (bounded by count, bytes and age, charged to the kernel's memory
/// account), kept by every replica that relays the kernel: a client that reconnects here after its replica
/// stopped gets what that replica had not handed out yet, from the `msg_id` it recorded on the kernel's pod.
/// Also remembers (bounded) which sessions this replica has served, so a replay happens at most once per session.
struct RecentIopub {
    private var entries: Deque<(msgID: String, message: ChannelMessage, at: ContinuousClock.Instant)> = []
    private var bytes = 0
    private var seen: Set<String> = []
    private var seenOrder: Deque<String> = []

    /// Messages kept at most.
    static let maxMessages = 2000
    /// Bytes kept at most.
    static let maxBytes = 256 << 10
    /// Age beyond which messages are dropped: a reconnect takes seconds, not minutes.
    static let maxAge: Duration = .seconds(30)
    /// Sessions remembered as served here.
    static let maxSessions = 4096

    /// Keeps a kernel message (dropped when the account refuses its bytes).
    mutating func append(_ message: ChannelMessage, msgID: String, account: MemoryAccount) {
        let now = ContinuousClock.now
        let size = message.parts.byteCount
        while let first = entries.first,
              entries.count >= Self.maxMessages || bytes + size > Self.maxBytes || now - first.at > Self.maxAge {
            dropOldest(releasing: account)
        }
        guard size <= Self.maxBytes, account.charge(size) else { return }
        entries.append((msgID, message, now))
        bytes += size
    }

    /// The messages kept after `cursor`: those following its message when that is kept here, otherwise those
    /// the kernel dated after the cursor's date (this replica started keeping after that message, or it aged out);
    /// nothing without a readable date (nothing is replayed rather than something twice).
    func after(_ cursor: IopubCursor) -> [ChannelMessage] {
        if let index = entries.lastIndex(where: { $0.msgID == cursor.msgID }) {
            return entries[(index + 1)...].map(\.message)
        }
        guard let since = cursor.date.flatMap(JupyterDate.microseconds) else { return [] }
        return entries.filter { entry in
            Self.date(of: entry.message).flatMap(JupyterDate.microseconds).map { $0 > since } ?? false
        }.map(\.message)
    }

    /// The header date of the kept message `msgID`, if it is kept.
    func date(of msgID: String) -> String? {
        entries.last(where: { $0.msgID == msgID }).flatMap { Self.date(of: $0.message) }
    }

    private static func date(of message: ChannelMessage) -> String? {
        MessagePeek.topLevelString("date", in: message.parts.header)
    }

    /// Whether `session` was served here before.
    func hasSeen(_ session: String) -> Bool { seen.contains(session) }

    /// Remembers `session` as served here.
    mutating func noteSeen(_ session: String) {
        guard seen.insert(session).inserted else { return }
        seenOrder.append(session)
        if seenOrder.count > Self.maxSessions, let oldest = seenOrder.popFirst() { seen.remove(oldest) }
    }

    /// Drops everything, releasing its charge.
    mutating func removeAll(releasing account: MemoryAccount) {
        account.release(bytes)
        entries.removeAll()
        bytes = 0
    }

    private mutating func dropOldest(releasing account: MemoryAccount) {
        guard let first = entries.popFirst() else { return }
        let size = first.message.parts.byteCount
        bytes -= size
        account.release(size)
    }
}
