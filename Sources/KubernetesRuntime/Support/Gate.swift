import Synchronization

/// A one-way latch that async callers can wait on: closed, then opened (or failed) for good.
public final class Gate: Sendable {
    private enum State {
        case closed(waiters: [UInt64: CheckedContinuation<Void, any Error>])
        case open
        case failed(any Error)
    }

    private struct Locked {
        var state: State = .closed(waiters: [:])
        var nextID: UInt64 = 0
    }

    private let locked = Mutex(Locked())

    /// Creates a closed gate.
    public init() {}

    /// Whether the gate is open.
    public var isOpen: Bool {
        locked.withLock { if case .open = $0.state { return true } else { return false } }
    }

    /// Opens the gate, releasing every waiter. Later calls do nothing.
    public func open() {
        settle(.open)
    }

    /// Fails the gate: waiters (present and future) get `error`, unless it is already open.
    public func fail(_ error: any Error) {
        settle(.failed(error))
    }

    /// Returns once the gate is open.
    /// - Throws: The failure, or `CancellationError`.
    public func wait() async throws {
        let id = locked.withLock { locked -> UInt64 in
            locked.nextID += 1
            return locked.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let result: Result<Void, any Error>? = locked.withLock { locked in
                    switch locked.state {
                    case .open: return .success(())
                    case .failed(let error): return .failure(error)
                    case .closed(var waiters):
                        if Task.isCancelled { return .failure(CancellationError()) }
                        waiters[id] = continuation
                        locked.state = .closed(waiters: waiters)
                        return nil
                    }
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, any Error>? = locked.withLock { locked in
                guard case .closed(var waiters) = locked.state, let waiter = waiters.removeValue(forKey: id) else {
                    return nil
                }
                locked.state = .closed(waiters: waiters)
                return waiter
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    private func settle(_ newState: State) {
        let waiters: [CheckedContinuation<Void, any Error>] = locked.withLock { locked in
            guard case .closed(let waiters) = locked.state else { return [] }
            locked.state = newState
            return Array(waiters.values)
        }
        for waiter in waiters {
            switch newState {
            case .open, .closed: waiter.resume()
            case .failed(let error): waiter.resume(throwing: error)
            }
        }
    }
}
