import KubernetesAPI

/// Per-key exponential backoff for ``WorkQueue/addRateLimited(_:)``: `baseDelay * 2^(failures-1)`,
/// capped at `maxDelay`.
public struct RateLimiter: Sendable, Hashable {
    /// Delay after the first failure. Default 5 ms.
    public var baseDelay: Duration
    /// Longest delay. Default 5 min.
    public var maxDelay: Duration
    /// Random spread fraction (0.1 = ±10 %). Default 0.
    public var jitter: Double

    /// Creates a rate limiter.
    /// - Parameters:
    ///   - baseDelay: First delay. Default 5 ms.
    ///   - maxDelay: Delay cap. Default 5 min.
    ///   - jitter: Random spread fraction. Default 0.
    public init(baseDelay: Duration = .milliseconds(5), maxDelay: Duration = .seconds(300), jitter: Double = 0) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The delay after `failures` consecutive failures (≥ 1).
    public func delay(failures: Int) -> Duration {
        Backoff.delay(attempt: failures, initial: baseDelay, max: maxDelay, multiplier: 2, jitter: jitter)
    }
}
