/// The bookkeeping of a ``WorkQueue`` (a value type; the queue guards it with a lock).
struct WorkQueueState<Key: Hashable & Sendable> {
    /// Keys ready to be handed out, in order (`head` is the next one).
    private var ready: [Key] = []
    private var head = 0
    /// Keys waiting to be processed (in `ready`, or re-added while processing).
    private(set) var dirty: Set<Key> = []
    /// Keys handed out and not yet `done`.
    private(set) var processing: Set<Key> = []
    /// Keys to add later, with the earliest time each becomes ready.
    private(set) var delayed: [Key: ContinuousClock.Instant] = [:]
    /// Consecutive failures per key.
    var failures: [Key: Int] = [:]
    var isShutDown = false

    var readyCount: Int { ready.count - head }

    /// Adds a key unless already waiting; returns whether a waiter should be woken.
    mutating func add(_ key: Key) -> Bool {
        guard !isShutDown, !dirty.contains(key) else { return false }
        dirty.insert(key)
        if processing.contains(key) { return false }
        ready.append(key)
        return true
    }

    /// Schedules a key for later (keeping the earliest time if already scheduled).
    mutating func add(_ key: Key, at instant: ContinuousClock.Instant) {
        guard !isShutDown else { return }
        if let existing = delayed[key], existing <= instant { return }
        delayed[key] = instant
    }

    /// Moves due delayed keys to the ready queue.
    mutating func promoteDue(now: ContinuousClock.Instant) {
        guard !delayed.isEmpty else { return }
        let due = delayed.filter { $0.value <= now }.sorted { $0.value < $1.value }
        for (key, _) in due {
            delayed[key] = nil
            _ = add(key)
        }
    }

    /// The earliest time a delayed key becomes ready.
    var nextDue: ContinuousClock.Instant? { delayed.values.min() }

    /// Takes the next ready key and marks it processing.
    mutating func take() -> Key? {
        guard head < ready.count else { return nil }
        let key = ready[head]
        head += 1
        if head > 64, head * 2 > ready.count {
            ready.removeFirst(head)
            head = 0
        }
        dirty.remove(key)
        processing.insert(key)
        return key
    }

    /// Marks a key done; returns whether it was re-queued (it was added while processing).
    mutating func done(_ key: Key) -> Bool {
        processing.remove(key)
        guard dirty.contains(key), !isShutDown else { return false }
        ready.append(key)
        return true
    }

    /// Drops everything that was waiting.
    mutating func shutDown() {
        isShutDown = true
        ready = []
        head = 0
        dirty = []
        delayed = [:]
    }
}
