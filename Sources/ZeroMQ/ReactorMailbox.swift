import Synchronization

/// The thread-safe side of a reactor: a command queue, its wake-up descriptor and counters.
///
/// Shared by the public ``ZMQReactor`` (producers, any thread) and the ``ReactorLoop`` (the one
/// consumer). The wake descriptor is written only when the queue goes from "seen" to "unseen",
/// so a burst of sends costs one wake-up.
final class ReactorMailbox: Sendable {
    private struct State {
        var commands: [ReactorCommand] = []
        /// A wake-up was written and the loop has not taken the queue since.
        var signaled = false
        /// `shutdown` was requested: no further commands are accepted.
        var closed = false
    }

    private let state = Mutex(State())
    /// Readable whenever commands are waiting.
    let wake: WakeSignal
    /// Sockets currently open on the loop.
    let socketCount = Atomic<Int>(0)
    /// Messages that libzmq refused for a reason other than "try again" and were discarded.
    let failedSends = Atomic<Int>(0)

    init() throws(ZMQError) {
        wake = try WakeSignal()
    }

    /// Whether shutdown has been requested.
    var isClosed: Bool {
        state.withLock { $0.closed }
    }

    /// Whether commands are waiting (lets the loop pick up commands posted by its own handlers
    /// without another `zmq_poll` round).
    var hasCommands: Bool {
        state.withLock { !$0.commands.isEmpty }
    }

    /// Queues a command; returns false (and queues nothing) after shutdown.
    @discardableResult
    func post(_ command: ReactorCommand) -> Bool {
        let (accepted, mustWake) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.commands.append(command)
            if state.signaled { return (true, false) }
            state.signaled = true
            return (true, true)
        }
        if mustWake { wake.signal() }
        return accepted
    }

    /// Queues the final `shutdown` command; returns false if shutdown was already requested.
    func postShutdown() -> Bool {
        let mustWake = state.withLock { state -> Bool? in
            guard !state.closed else { return nil }
            state.commands.append(.shutdown)
            state.closed = true
            defer { state.signaled = true }
            return !state.signaled
        }
        guard let mustWake else { return false }
        if mustWake { wake.signal() }
        return true
    }

    /// Takes every queued command (reactor thread only). Drains the wake descriptor first, so a
    /// command posted concurrently either lands in this batch or leaves the descriptor readable.
    func takeAll() -> [ReactorCommand] {
        wake.drain()
        return state.withLock { state in
            state.signaled = false
            let batch = state.commands
            state.commands = []
            return batch
        }
    }
}
