import Foundation
import Logging
import Synchronization

/// How often one log message may be written: a client that triggers the same line again and again (refused
/// connections, failed starts, malformed messages) cannot flood the log or slow the gateway down with it.
final class LogRateLimiter: Sendable {
    /// Lines of one message written per window; the rest are counted.
    let burst: Int
    /// Length of a window.
    let window: Duration
    private let state = Mutex<[String: Bucket]>([:])

    struct Bucket {
        var windowStart: ContinuousClock.Instant
        var written: Int
        var suppressed: Int
    }

    /// What to do with one line.
    enum Decision: Equatable {
        /// Write it; `suppressedBefore` lines of the same message were dropped in the previous window.
        case write(suppressedBefore: Int)
        case drop
    }

    init(burst: Int = 20, window: Duration = .seconds(10)) {
        self.burst = burst
        self.window = window
    }

    /// Decides for one line of `message` at `now`.
    func decide(_ message: String, now: ContinuousClock.Instant = .now) -> Decision {
        state.withLock { buckets in
            var bucket = buckets[message] ?? Bucket(windowStart: now, written: 0, suppressed: 0)
            var suppressedBefore = 0
            if now - bucket.windowStart >= window {
                suppressedBefore = bucket.suppressed
                bucket = Bucket(windowStart: now, written: 0, suppressed: 0)
            }
            let decision: Decision
            if bucket.written < burst {
                bucket.written += 1
                decision = .write(suppressedBefore: suppressedBefore)
            } else {
                bucket.suppressed += 1
                decision = .drop
            }
            if buckets.count > 10_000 && buckets[message] == nil { buckets.removeAll(keepingCapacity: true) }
            buckets[message] = bucket
            return decision
        }
    }
}

/// Passes log lines to `base` as `LogRateLimiter` allows; a line that follows suppressed ones says how many.
struct RateLimitedLogHandler: LogHandler {
    var base: any LogHandler
    let limiter: LogRateLimiter

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard case .write(let suppressed) = limiter.decide(event.message.description) else { return }
        var event = event
        if suppressed > 0 {
            var metadata = event.metadata ?? [:]
            metadata["suppressed_before"] = "\(suppressed)"
            event.metadata = metadata
        }
        base.log(event: event)
    }
}
