import NIOCore
import Synchronization

/// Hummingbird does not cancel a handler whose client went away (and, with remote half-closure allowed, the
/// channel does not even close). A kernel start can take minutes (a pod waiting for its image or a node); when
/// nobody is left to learn the kernel's id, the start is cancelled so its kernel (and pod) does not linger.
enum ClientDisconnect {
    /// Runs `body`, cancelling it if the client of `channel` goes away first (then throws `CancellationError`).
    static func cancelling<T: Sendable>(
        ifGone channel: any Channel, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await waitUntilGone(channel)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            return value
        }
    }

    /// Returns once the client has closed its side of the connection (or the channel closed); throws
    /// `CancellationError` if cancelled before.
    static func waitUntilGone(_ channel: any Channel) async throws {
        let signal = try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: InputClosedHandler.self).signal
        }.get()
        let gone = signal ?? DisconnectSignal()
        channel.closeFuture.whenComplete { _ in gone.fire() }
        try await gone.wait()
    }
}

/// Fires once the client closed its side of the connection (`ChannelEvent.inputClosed`).
final class InputClosedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let signal = DisconnectSignal()

    init() {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent { signal.fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        signal.fire()
        context.fireChannelInactive()
    }
}

/// A one-way latch: ``fire()`` once, and every ``wait()`` (before or after) returns.
final class DisconnectSignal: Sendable {
    private struct State {
        var fired = false
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Releases every waiter, now and later.
    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once fired; throws `CancellationError` if the task is cancelled first.
    func wait() async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.fired { return .success(()) }
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    if !state.fired { state.cancelled.insert(id) }
                    return nil
                }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
