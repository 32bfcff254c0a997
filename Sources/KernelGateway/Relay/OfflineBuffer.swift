import DequeModule
import JupyterProtocol

/// Messages kept for a session while no client is attached, replayed when a client with the same
/// session id comes back. Bounded by count and bytes; when full, the oldest message that is not a
/// `status` message is dropped (status messages are tiny and tell the client whether the kernel is idle).
struct OfflineBuffer {
    let sessionID: String
    let maxMessages: Int
    let maxBytes: Int
    private(set) var messages: Deque<(message: ChannelMessage, isStatus: Bool)> = []
    private(set) var bytes = 0
    private(set) var dropped = 0

    init(sessionID: String, maxMessages: Int, maxBytes: Int) {
        self.sessionID = sessionID
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    mutating func append(_ message: ChannelMessage, isStatus: Bool) {
        messages.append((message, isStatus))
        bytes += message.parts.byteCount
        while messages.count > maxMessages || bytes > maxBytes {
            guard let index = messages.firstIndex(where: { !$0.isStatus }) else {
                // Only status messages left: drop the oldest of them rather than grow without bound.
                let removed = messages.removeFirst()
                bytes -= removed.message.parts.byteCount
                dropped += 1
                continue
            }
            let removed = messages.remove(at: index)
            bytes -= removed.message.parts.byteCount
            dropped += 1
        }
    }
}
