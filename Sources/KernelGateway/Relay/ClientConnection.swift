import DequeModule
import JupyterProtocol
import Synchronization

/// One WebSocket client attached to a kernel, as the relay sees it: a session id, the encoding it speaks,
/// and a bounded send queue.
///
/// The slow-client rule: messages for a client wait in its own queue, bounded by a message count and a
/// byte total, and charged to its kernel's ``MemoryAccount`` (the gateway's ``MemoryBudget``). A client whose
/// queue overflows, or whose next message the budget refuses, is disconnected with a close reason ("Client too
/// slow…"); the kernel and the other clients never wait for it.
public final class ClientConnection: Sendable {
    /// The client's `session_id` (from the WebSocket URL, or generated).
    public let sessionID: String
    /// The WebSocket encoding negotiated with this client.
    public let wsProtocol: WebSocketProtocol
    let limits: (messages: Int, bytes: Int)
    private let state: Mutex<State>

    struct State {
        var queue: Deque<ChannelMessage> = []
        /// The kernel's `msg_id` of each queued iopub message (nil for others), in queue order.
        var iopubIDs: Deque<String?> = []
        /// The `msg_id` of the last kernel iopub message handed to the writer: where a replay resumes.
        var lastIopubID: String?
        var queuedBytes = 0
        var waiter: CheckedContinuation<ChannelMessage?, Never>?
        var closeReason: ClientCloseReason?
        /// Tasks waiting in ``waitUntilClosed()``.
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// Where queued bytes are charged (set when the client is attached to a kernel).
        var account: MemoryAccount?
    }

    /// Creates a client with its queue limits.
    public init(sessionID: String, wsProtocol: WebSocketProtocol, queueMessages: Int, queueBytes: Int) {
        self.sessionID = sessionID
        self.wsProtocol = wsProtocol
        self.limits = (queueMessages, queueBytes)
        self.state = Mutex(State())
    }

    deinit {
        state.withLock { state in
            state.account?.release(state.queuedBytes)
            state.queuedBytes = 0
        }
    }

    /// Charges this client's queue to `account` (called when it is attached to a kernel, before anything is
    /// queued; a client that already holds messages or an account keeps its accounting as it is).
    func charge(to account: MemoryAccount) {
        state.withLock { state in
            guard state.account == nil, state.queuedBytes == 0 else { return }
            state.account = account
        }
    }

    /// Queues a message for the client. Returns false (and closes the client) when the queue overflows or the
    /// memory budget refuses the message.
    @discardableResult
    public func enqueue(_ message: ChannelMessage, iopubID: String? = nil) -> Bool {
        let size = message.parts.byteCount
        enum Outcome { case resumed(CheckedContinuation<ChannelMessage?, Never>), queued, closed, overflow }
        let outcome: Outcome = state.withLock { state in
            if state.closeReason != nil { return .closed }
            if let waiter = state.waiter {
                state.waiter = nil
                if let iopubID { state.lastIopubID = iopubID }
                return .resumed(waiter)
            }
            if state.queue.count + 1 > limits.messages || state.queuedBytes + size > limits.bytes {
                state.closeReason = .tooSlow(messages: limits.messages, bytes: limits.bytes)
                Self.drop(&state)
                return .overflow
            }
            if let account = state.account, !account.charge(size) {
                state.closeReason = .memoryBudgetExceeded(queuedBytes: state.queuedBytes)
                Self.drop(&state)
                return .overflow
            }
            state.queue.append(message)
            state.iopubIDs.append(iopubID)
            state.queuedBytes += size
            return .queued
        }
        switch outcome {
        case .resumed(let waiter): waiter.resume(returning: message); return true
        case .queued: return true
        case .closed: return false
        case .overflow: return false
        }
    }

    private static func drop(_ state: inout State) {
        state.account?.release(state.queuedBytes)
        state.queue.removeAll()
        state.iopubIDs.removeAll()
        state.queuedBytes = 0
    }

    /// The next message to send; nil once the client is closed (see `closeReason`).
    public func next() async -> ChannelMessage? {
        enum Immediate { case message(ChannelMessage), closed, wait }
        let immediate: Immediate = state.withLock { state in
            if let message = Self.pop(&state) { return .message(message) }
            return state.closeReason != nil ? .closed : .wait
        }
        switch immediate {
        case .message(let message): return message
        case .closed: return nil
        case .wait: break
        }
        return await withCheckedContinuation { continuation in
            let resumeNow: ChannelMessage?? = state.withLock { state in
                if let message = Self.pop(&state) { return .some(message) }
                if state.closeReason != nil { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let resumeNow { continuation.resume(returning: resumeNow) }
        }
    }

    /// Takes the oldest queued message, noting its iopub `msg_id`.
    private static func pop(_ state: inout State) -> ChannelMessage? {
        guard let message = state.queue.popFirst() else { return nil }
        if let id = state.iopubIDs.popFirst() ?? nil { state.lastIopubID = id }
        state.queuedBytes -= message.parts.byteCount
        state.account?.release(message.parts.byteCount)
        return message
    }

    /// The `msg_id` of the last kernel iopub message handed to the writer (final once the client is closed for
    /// ``ClientCloseReason/gatewayStopping``, whose queue is dropped: the next replica replays from there).
    public var lastIopubID: String? { state.withLock { $0.lastIopubID } }

    /// Closes the client: queued messages are still sent, then `next()` returns nil; when the gateway is stopping
    /// they are dropped instead (the replica the client reconnects to replays them). The first reason wins.
    public func close(reason: ClientCloseReason) {
        let (waiter, closeWaiters) = state.withLock { state in
            if state.closeReason == nil { state.closeReason = reason }
            if reason == .gatewayStopping { Self.drop(&state) }
            let waiter = state.waiter
            state.waiter = nil
            let closeWaiters = state.closeWaiters
            state.closeWaiters = []
            return (waiter, closeWaiters)
        }
        waiter?.resume(returning: nil)
        for closeWaiter in closeWaiters { closeWaiter.resume() }
    }

    /// Returns once the client is closed (at once if it is). Not cancellable: callers close the client
    /// themselves when they stop waiting.
    public func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { state in
                if state.closeReason != nil { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if closed { continuation.resume() }
        }
    }

    /// Why the client was closed, or nil while it is open.
    public var closeReason: ClientCloseReason? { state.withLock { $0.closeReason } }

    /// Number of messages waiting (for tests and metrics).
    public var queuedMessages: Int { state.withLock { $0.queue.count } }
}

extension MessageParts {
    /// Total payload size, used for queue accounting.
    var byteCount: Int {
        header.count + parentHeader.count + metadata.count + content.count + buffers.reduce(0) { $0 + $1.count }
    }
}
