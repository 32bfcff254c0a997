import Synchronization

/// Checks that a kernel is alive through its Jupyter heartbeat channel (a REQ socket to an
/// echo endpoint): each ``ping(timeout:)`` sends a unique payload and waits for it to come back.
///
/// After a ping times out the socket is replaced by a fresh one before the next ping (as
/// `jupyter_client` does), so nothing piles up in a queue to an unreachable kernel.
public final class ZMQHeartbeat: Sendable {
    /// The heartbeat endpoint, e.g. `tcp://10.0.0.5:5555`.
    public let endpoint: String
    private let reactor: ZMQReactor
    private let waiter = PingWaiter()
    private let socket = Mutex<ZMQSocketID?>(nil)

    /// Opens the REQ socket on `reactor` and connects it to `endpoint`.
    public init(reactor: ZMQReactor, endpoint: String) async throws {
        self.reactor = reactor
        self.endpoint = endpoint
        let id = try await Self.openSocket(reactor: reactor, endpoint: endpoint, waiter: waiter)
        socket.withLock { $0 = id }
    }

    deinit {
        if let id = socket.withLock({ $0 }) { reactor.close(id) }
    }

    /// Sends one ping and waits up to `timeout` for its echo.
    /// - Returns: the round-trip time, or nil if no echo arrived in time (or the task was
    ///   cancelled, or the socket could not be reopened). Overlapping calls are allowed; an older
    ///   ping still waiting is answered with nil (without replacing the socket).
    public func ping(timeout: Duration) async -> Duration? {
        guard let id = await currentSocket() else { return nil }
        let token = waiter.makeToken()
        let outcome: PingOutcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                waiter.begin(token: token, continuation: continuation)
                let timer = Task { [waiter] in
                    try? await Task.sleep(for: timeout)
                    waiter.finish(token: token, outcome: .timedOut)
                }
                waiter.attach(timer, to: token)
                reactor.send([token], on: id)
            }
        } onCancel: {
            waiter.finish(token: token, outcome: .cancelled)
        }
        switch outcome {
        case .echoed(let roundTrip):
            return roundTrip
        case .timedOut:
            replaceSocket(id)
            return nil
        case .superseded, .cancelled:
            return nil
        }
    }

    /// Closes the socket. Later pings return nil.
    public func close() {
        waiter.closed.withLock { $0 = true }
        if let id = socket.withLock({ current in defer { current = nil }; return current }) {
            reactor.close(id)
        }
    }

    /// The socket to ping on, reopening it if the previous ping timed out.
    private func currentSocket() async -> ZMQSocketID? {
        if waiter.closed.withLock({ $0 }) { return nil }
        if let id = socket.withLock({ $0 }) { return id }
        guard let id = try? await Self.openSocket(reactor: reactor, endpoint: endpoint, waiter: waiter) else {
            return nil
        }
        let winner = socket.withLock { current -> ZMQSocketID in
            if let current { return current }
            current = id
            return id
        }
        if winner != id { reactor.close(id) }
        return winner
    }

    /// Drops a socket whose ping went unanswered; the next ping opens a new one.
    private func replaceSocket(_ id: ZMQSocketID) {
        let dropped = socket.withLock { current -> Bool in
            guard current == id else { return false }
            current = nil
            return true
        }
        if dropped { reactor.close(id) }
    }

    private static func openSocket(reactor: ZMQReactor, endpoint: String, waiter: PingWaiter) async throws -> ZMQSocketID {
        var options = ZMQSocketOptions()
        options.requestRelaxed = true
        options.requestCorrelate = true
        return try await reactor.open(.req, endpoint: endpoint, options: options) { frames in
            if let payload = frames.last { waiter.echoArrived(payload) }
        }
    }
}

/// How a ping ended.
enum PingOutcome: Sendable {
    /// The echo came back after this long.
    case echoed(Duration)
    /// No echo in time: the socket is replaced before the next ping.
    case timedOut
    /// A newer ping replaced this one.
    case superseded
    /// The calling task was cancelled.
    case cancelled
}

/// The ping currently waiting for its echo.
final class PingWaiter: Sendable {
    private struct Pending {
        let token: [UInt8]
        let start: ContinuousClock.Instant
        let continuation: CheckedContinuation<PingOutcome, Never>
        var timer: Task<Void, Never>?
    }

    private let pending = Mutex<Pending?>(nil)
    private let counter = Atomic<UInt64>(0)
    /// Set by ``ZMQHeartbeat/close()``.
    let closed = Mutex(false)

    /// A payload no earlier ping used.
    func makeToken() -> [UInt8] {
        Array("ping-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)".utf8)
    }

    /// Registers a waiting ping; an older one still waiting is answered with nil.
    func begin(token: [UInt8], continuation: CheckedContinuation<PingOutcome, Never>) {
        let replaced = pending.withLock { current -> Pending? in
            defer { current = Pending(token: token, start: .now, continuation: continuation) }
            return current
        }
        if let replaced {
            replaced.timer?.cancel()
            replaced.continuation.resume(returning: .superseded)
        }
    }

    /// Gives the ping with `token` its timeout task (cancelled at once if it already finished).
    func attach(_ timer: Task<Void, Never>, to token: [UInt8]) {
        let attached = pending.withLock { current -> Bool in
            guard current?.token == token else { return false }
            current?.timer = timer
            return true
        }
        if !attached { timer.cancel() }
    }

    /// Completes the waiting ping with its round-trip time if `payload` is its token.
    func echoArrived(_ payload: [UInt8]) {
        complete(token: payload) { start in .echoed(ContinuousClock.now - start) }
    }

    /// Completes the waiting ping with `outcome` if it carries `token`.
    func finish(token: [UInt8], outcome: PingOutcome) {
        complete(token: token) { _ in outcome }
    }

    private func complete(token: [UInt8], outcome: (ContinuousClock.Instant) -> PingOutcome) {
        let matched = pending.withLock { current -> Pending? in
            guard let waiting = current, waiting.token == token else { return nil }
            current = nil
            return waiting
        }
        guard let matched else { return }
        matched.timer?.cancel()
        matched.continuation.resume(returning: outcome(matched.start))
    }
}
