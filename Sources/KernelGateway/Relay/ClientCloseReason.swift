/// Why the relay (or the gateway) closed a WebSocket client. The HTTP edge maps each case to a close code.
public enum ClientCloseReason: Sendable, Equatable, CustomStringConvertible {
    /// The client's send queue overflowed (it reads too slowly).
    case tooSlow(messages: Int, bytes: Int)
    /// The memory budget of its kernel refused the next message for it.
    case memoryBudgetExceeded(queuedBytes: Int)
    /// The client sent a message beyond the gateway's `--max-message-size`.
    case messageTooLarge
    /// The kernel was shut down, culled or deleted; the text says which.
    case kernelStopped(String)
    /// The gateway is stopping; the kernel itself keeps running (a client should reconnect).
    case gatewayStopping
    /// Writing to the client failed (its connection is gone).
    case writeFailed
    /// The client closed its side.
    case clientDisconnected
    /// The session ended for no particular reason (both sides done).
    case closed

    public var description: String {
        switch self {
        case .tooSlow(let messages, let bytes):
            return "Client too slow: its send queue exceeded \(messages) messages or \(bytes) bytes"
        case .memoryBudgetExceeded(let queued):
            return "Client too slow: the gateway's memory budget for this kernel is used up (\(queued) bytes queued for this client)"
        case .messageTooLarge: return "Message too large"
        case .kernelStopped(let text): return text
        case .gatewayStopping: return "The gateway is stopping; the kernel keeps running, reconnect"
        case .writeFailed: return "Write failed"
        case .clientDisconnected: return "Client disconnected"
        case .closed: return "Closed"
        }
    }

    /// Whether the client was closed for being too slow (queue or memory budget).
    public var isTooSlow: Bool {
        switch self {
        case .tooSlow, .memoryBudgetExceeded: return true
        default: return false
        }
    }
}
