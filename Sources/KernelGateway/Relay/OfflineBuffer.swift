import DequeModule
import JupyterProtocol

/// Messages kept for a session while no client is attached, replayed when a client with the same
/// session id comes back. Bounded by count and bytes, and charged to the kernel's ``MemoryAccount``: when a
/// message does not fit, the oldest message that is not a `status` message is dropped first (status messages
/// are tiny and tell the client whether the kernel is idle). A message that fits nowhere is dropped itself.
struct OfflineBuffer {
    let maxMessages: Int
    let maxBytes: Int
    let account: MemoryAccount
    private(set) var messages: Deque<(message: ChannelMessage, isStatus: Bool)> = []
    private(set) var bytes = 0
    private(set) var dropped = 0

    init(maxMessages: Int, maxBytes: Int, account: MemoryAccount = .unlimited()) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.account = account
    }

    mutating func append(_ message: ChannelMessage, isStatus: Bool) {
        let size = message.parts.byteCount
        guard size <= maxBytes, maxMessages > 0 else {
            dropped += 1
            return
        }
        while messages.count + 1 > maxMessages || bytes + size > maxBytes { dropOldest() }
        while !account.charge(size) {
            guard !messages.isEmpty else {
                dropped += 1
                return
            }
            dropOldest()
        }
        messages.append((message, isStatus))
        bytes += size
    }

    /// Takes every message (for a replay); their bytes go back to the budget.
    mutating func takeAll() -> [ChannelMessage] {
        let taken = messages.map(\.message)
        releaseCharges()
        messages.removeAll()
        bytes = 0
        return taken
    }

    /// Gives the buffer's bytes back to the budget (the buffer is being discarded).
    func releaseCharges() {
        account.release(bytes)
    }

    private mutating func dropOldest() {
        let index = messages.firstIndex { !$0.isStatus } ?? messages.startIndex
        let removed = messages.remove(at: index)
        let size = removed.message.parts.byteCount
        bytes -= size
        account.release(size)
        dropped += 1
    }
}
