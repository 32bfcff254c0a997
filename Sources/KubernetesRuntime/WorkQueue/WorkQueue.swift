import Synchronization

/// A queue of keys for controller workers, with the semantics of client-go's rate-limited work queue:
///
/// - a key that is already waiting is not added twice (dedup);
/// - a key is never handed to two workers at once: adding a key that is being processed marks it to be
///   handed out again after ``done(_:)``;
/// - ``addRateLimited(_:)`` delays a key exponentially per consecutive failure; ``forget(_:)`` resets it;
/// - ``add(_:after:)`` schedules a key for later.
///
/// Workers loop `while let key = await queue.next() { …; queue.done(key) }`.
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
    private struct Locked {
        var state = WorkQueueState<Key>()
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
        /// Bumped on every change a waiter may care about.
        var generation: UInt64 = 0
    }

    private let locked = Mutex(Locked())
    /// The per-key backoff of ``addRateLimited(_:)``.
    public let rateLimiter: RateLimiter

    /// Creates a queue.
    /// - Parameter rateLimiter: Per-key backoff. Default 5 ms doubling to 5 min.
    public init(rateLimiter: RateLimiter = RateLimiter()) {
        self.rateLimiter = rateLimiter
    }

    // MARK: Adding

    /// Adds a key now (no-op if it is already waiting, or after shutdown).
    public func add(_ key: Key) {
        change { $0.add(key) }
    }

    /// Adds a key after `delay` (the earliest schedule wins if it is already scheduled).
    /// - Parameters:
    ///   - key: The key.
    ///   - delay: How long to wait; zero or less adds now.
    public func add(_ key: Key, after delay: Duration) {
        guard delay > .zero else { return add(key) }
        let instant = ContinuousClock.now + delay
        change { state in
            state.add(key, at: instant)
            return true
        }
    }

    /// Adds a key after its backoff delay and counts one more failure for it.
    public func addRateLimited(_ key: Key) {
        let failures = locked.withLock { locked -> Int in
            let count = (locked.state.failures[key] ?? 0) + 1
            locked.state.failures[key] = count
            return count
        }
        add(key, after: rateLimiter.delay(failures: failures))
    }

    /// Resets the failure count of a key (call after it was processed successfully).
    public func forget(_ key: Key) {
        locked.withLock { _ = $0.state.failures.removeValue(forKey: key) }
    }

    /// Consecutive failures recorded for a key.
    public func failures(for key: Key) -> Int {
        locked.withLock { $0.state.failures[key] ?? 0 }
    }

    // MARK: Processing

    /// The next key to process, waiting for one; `nil` once the queue is shut down or the task cancelled.
    /// The key stays "processing" until ``done(_:)``.
    public func next() async -> Key? {
        while !Task.isCancelled {
            let (key, isShutDown, due, generation) = locked.withLock { locked in
                locked.state.promoteDue(now: .now)
                let key = locked.state.take()
                return (key, locked.state.isShutDown, locked.state.nextDue, locked.generation)
            }
            if let key { return key }
            if isShutDown { return nil }
            await waitForChange(since: generation, until: due)
        }
        return nil
    }

    /// Marks a key as processed; if it was added meanwhile, it becomes ready again.
    public func done(_ key: Key) {
        change { $0.done(key) }
    }

    /// Stops the queue: waiting keys are dropped and ``next()`` returns `nil` (keys being processed may
    /// still be marked ``done(_:)``).
    public func shutDown() {
        change { state in
            state.shutDown()
            return true
        }
    }

    /// Whether ``shutDown()`` was called.
    public var isShutDown: Bool { locked.withLock { $0.state.isShutDown } }

    /// Keys ready to be handed out now.
    public var count: Int { locked.withLock { $0.state.readyCount } }

    /// Keys being processed.
    public var processingCount: Int { locked.withLock { $0.state.processing.count } }

    /// Keys scheduled for later.
    public var delayedCount: Int { locked.withLock { $0.state.delayed.count } }

    // MARK: Waiting

    private func change(_ body: (inout WorkQueueState<Key>) -> Bool) {
        let waiters = locked.withLock { locked -> [CheckedContinuation<Void, Never>] in
            guard body(&locked.state) else { return [] }
            locked.generation &+= 1
            defer { locked.waiters = [:] }
            return Array(locked.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitForChange(since generation: UInt64, until due: ContinuousClock.Instant?) async {
        let id = locked.withLock { locked -> UInt64 in
            locked.nextWaiterID &+= 1
            return locked.nextWaiterID
        }
        guard let due else {
            return await suspend(id: id, since: generation)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(id: id, since: generation) }
            group.addTask { try? await Task.sleep(until: due, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func suspend(id: UInt64, since generation: UInt64) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = locked.withLock { locked -> Bool in
                    if Task.isCancelled || locked.generation != generation { return true }
                    locked.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = locked.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
