/// When and how long to wait before retrying a failed request.
///
/// Retried: 429 and 5xx responses, connection failures and client-side timeouts, for idempotent requests
/// (GET, PUT, PATCH, DELETE). POST (create) is retried only on 429 and 503, which the API server sends
/// before processing. A 401 with a token file is retried once after re-reading the token. Each attempt has
/// the full request deadline, so the worst case is about `maxAttempts ×` that deadline plus the delays.
public struct RetryPolicy: Sendable, Hashable {
    /// Total attempts including the first. Default 5.
    public var maxAttempts: Int
    /// Delay after the first failure. Default 200 ms.
    public var initialDelay: Duration
    /// Upper bound of the exponential delay. Default 10 s.
    public var maxDelay: Duration
    /// Growth factor per attempt. Default 2.
    public var multiplier: Double
    /// Random spread as a fraction of the delay (0.2 means ±20 %). Default 0.2.
    public var jitter: Double
    /// Longest `Retry-After` that is honoured; longer ones are capped. Default 60 s.
    public var maxRetryAfter: Duration

    /// Creates a policy.
    /// - Parameters:
    ///   - maxAttempts: Total attempts. Default 5.
    ///   - initialDelay: First delay. Default 200 ms.
    ///   - maxDelay: Delay cap. Default 10 s.
    ///   - multiplier: Growth factor. Default 2.
    ///   - jitter: Random spread fraction. Default 0.2.
    ///   - maxRetryAfter: Cap on `Retry-After`. Default 60 s.
    public init(
        maxAttempts: Int = 5, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10),
        multiplier: Double = 2, jitter: Double = 0.2, maxRetryAfter: Duration = .seconds(60)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    /// The default policy.
    public static let `default` = RetryPolicy()

    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed attempts.
    /// - Parameters:
    ///   - attempt: Number of failed attempts so far (≥ 1).
    ///   - retryAfter: The server's `Retry-After`, which wins (capped) when present.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter { return min(retryAfter, maxRetryAfter) }
        return Backoff.delay(
            attempt: attempt, initial: initialDelay, max: maxDelay, multiplier: multiplier, jitter: jitter)
    }
}

/// Exponential backoff arithmetic, shared by the client and the runtime.
public enum Backoff {
    /// `initial * multiplier^(attempt-1)`, capped at `max`, spread by ±`jitter`.
    /// - Parameters:
    ///   - attempt: 1 for the first retry.
    ///   - initial: First delay.
    ///   - max: Cap.
    ///   - multiplier: Growth factor.
    ///   - jitter: Spread fraction (0 for none).
    public static func delay(
        attempt: Int, initial: Duration, max cap: Duration, multiplier: Double = 2, jitter: Double = 0
    ) -> Duration {
        let base = seconds(initial) * pow(multiplier, Double(Swift.max(0, attempt - 1)))
        var value = Swift.min(base, seconds(cap))
        if jitter > 0 {
            value *= 1 + Double.random(in: -jitter...jitter)
        }
        return .milliseconds(Int64(Swift.max(0, value) * 1000))
    }

    /// A duration in seconds as a `Double`.
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    private static func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(Swift.min(exponent, 62))
        while remaining > 0 {
            result *= base
            remaining -= 1
        }
        return result
    }
}
