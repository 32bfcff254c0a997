import JupyterProtocol
import Synchronization

/// One pending reply to a request the gateway itself sent. Safe against every ordering of
/// "reply arrives", "waiter suspends" and "waiter is cancelled": whichever comes first, the waiter is
/// resumed exactly once.
final class ReplySlot: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<MessageParts, any Error>)
        case finished(Result<MessageParts, any Error>)
        case consumed
    }

    private let state = Mutex<State>(.empty)

    /// Suspends until the reply (or a failure) arrives.
    func wait() async throws -> MessageParts {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<MessageParts, any Error>) in
                let ready: Result<MessageParts, any Error>? = state.withLock { state in
                    switch state {
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .finished(let result):
                        state = .consumed
                        return result
                    case .waiting, .consumed:
                        return .failure(CancellationError())
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            self.finish(.failure(CancellationError()))
        }
    }

    /// Delivers the outcome; later calls are ignored.
    func finish(_ result: Result<MessageParts, any Error>) {
        let waiter: CheckedContinuation<MessageParts, any Error>? = state.withLock { state in
            switch state {
            case .empty:
                state = .finished(result)
                return nil
            case .waiting(let continuation):
                state = .consumed
                return continuation
            case .finished, .consumed:
                return nil
            }
        }
        waiter?.resume(with: result)
    }
}
