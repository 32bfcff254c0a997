/// Seconds one kernel spent `idle` and `busy`, accumulated as its execution state changes and taken (drained)
/// into counters at each scrape and when the kernel ends. Other states (starting, restarting, dead...) count
/// nowhere. A value type kept under its kernel's lock: no clock reads or allocations beyond a state change.
struct ExecutionTimeLedger: Sendable {
    /// The state counted now (`idle`, `busy`), if any.
    private var counting: String?
    private var since: ContinuousClock.Instant
    private(set) var idleSeconds: Double = 0
    private(set) var busySeconds: Double = 0

    init(now: ContinuousClock.Instant) {
        since = now
    }

    /// Enters `state` at `now` (the time so far goes to the previous state).
    mutating func enter(_ state: String, now: ContinuousClock.Instant) {
        let next = state == "idle" || state == "busy" ? state : nil
        guard next != counting else { return }
        settle(now: now)
        counting = next
    }

    /// Returns the seconds accumulated up to `now` and starts again from zero (the current state goes on).
    mutating func take(now: ContinuousClock.Instant) -> (idle: Double, busy: Double) {
        settle(now: now)
        defer { idleSeconds = 0; busySeconds = 0 }
        return (idleSeconds, busySeconds)
    }

    private mutating func settle(now: ContinuousClock.Instant) {
        let elapsed = Self.seconds(now - since)
        since = now
        guard elapsed > 0 else { return }
        switch counting {
        case "idle": idleSeconds += elapsed
        case "busy": busySeconds += elapsed
        default: break
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
