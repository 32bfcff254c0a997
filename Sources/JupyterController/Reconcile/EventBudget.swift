/// The bounded memory of an ``EventRecorder``: which events were written recently (for deduplication) and
/// a token bucket limiting how many are written at all, so that a flood of hostile objects costs the API
/// server at most `rate` Events per second and the controller at most `capacity` remembered keys.
struct EventBudget: Sendable {
    /// Most remembered keys.
    let capacity: Int
    /// Events per second, sustained.
    let rate: Double
    /// Events allowed in a burst.
    let burst: Double

    private var recent: [String: ContinuousClock.Instant] = [:]
    private var tokens: Double
    private var refilled: ContinuousClock.Instant?

    /// - Parameters:
    ///   - capacity: Most remembered keys. Default 4096.
    ///   - rate: Sustained Events per second. Default 5.
    ///   - burst: Burst size. Default 50.
    init(capacity: Int = 4096, rate: Double = 5, burst: Double = 50) {
        self.capacity = capacity
        self.rate = rate
        self.burst = burst
        self.tokens = burst
    }

    /// What to do with one event.
    enum Decision: Equatable {
        /// Write it.
        case write
        /// The same event was written within the repeat interval.
        case duplicate
        /// Over the rate limit.
        case rateLimited
    }

    /// Decides about the event with `key` at `now` and remembers it.
    mutating func admit(_ key: String, now: ContinuousClock.Instant, repeatInterval: Duration) -> Decision {
        if let last = recent[key], now - last < repeatInterval { return .duplicate }
        let elapsed = refilled.map { now - $0 } ?? .zero
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * rate)
        refilled = now
        guard tokens >= 1 else { return .rateLimited }
        tokens -= 1
        if recent.count >= capacity {
            recent = recent.filter { now - $0.value < repeatInterval }
            // Still full: forget the oldest half rather than grow.
            if recent.count >= capacity {
                let keep = recent.sorted { $0.value > $1.value }.prefix(capacity / 2)
                recent = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
            }
        }
        recent[key] = now
        return .write
    }

    /// How many keys are remembered.
    var count: Int { recent.count }
}
