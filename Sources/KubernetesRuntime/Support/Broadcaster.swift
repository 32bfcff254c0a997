import Synchronization

/// Fans events out to any number of `AsyncStream` subscribers.
final class Broadcaster<Event: Sendable>: Sendable {
    private struct Locked {
        var streams: [UInt64: AsyncStream<Event>.Continuation] = [:]
        var nextID: UInt64 = 0
        var finished = false
    }

    private let locked = Mutex(Locked())

    init() {}

    /// A new stream of the events from now on (finished at once if the broadcaster is finished).
    func subscribe(bufferingPolicy: AsyncStream<Event>.Continuation.BufferingPolicy = .unbounded) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: bufferingPolicy)
        let id = locked.withLock { locked -> UInt64? in
            guard !locked.finished else { return nil }
            locked.nextID += 1
            locked.streams[locked.nextID] = continuation
            return locked.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.locked.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends an event to every subscriber.
    func yield(_ event: Event) {
        // Yield outside the lock: a stream's onTermination takes it, and may run while its task's cancellation
        // holds runtime locks that a yield needs.
        let streams = locked.withLock { Array($0.streams.values) }
        for continuation in streams { continuation.yield(event) }
    }

    /// Ends every stream; later subscribers get finished streams.
    func finish() {
        let open = locked.withLock { locked -> [AsyncStream<Event>.Continuation] in
            locked.finished = true
            defer { locked.streams = [:] }
            return Array(locked.streams.values)
        }
        for continuation in open { continuation.finish() }
    }
}
