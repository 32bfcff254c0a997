/// Tuning of an ``Informer``.
public struct InformerConfiguration: Sendable, Hashable {
    /// Server-side duration of each watch (`timeoutSeconds`), spread by up to +50 % so that many
    /// informers do not reconnect together. Default 5 min.
    public var watchTimeout: Duration
    /// Page size of the initial list and re-lists (`limit`); `nil` lists in one request. Default 500.
    public var pageSize: Int?
    /// First delay after a failed list or watch. Default 500 ms.
    public var initialBackoff: Duration
    /// Longest delay between failed attempts. Default 30 s.
    public var maxBackoff: Duration
    /// Extra time, beyond the watch timeout, after which a silent watch is abandoned and reopened. Default 30 s.
    public var watchGrace: Duration

    /// Creates a configuration.
    /// - Parameters:
    ///   - watchTimeout: Watch duration. Default 5 min.
    ///   - pageSize: List page size. Default 500.
    ///   - initialBackoff: First retry delay. Default 500 ms.
    ///   - maxBackoff: Retry delay cap. Default 30 s.
    ///   - watchGrace: Slack for a stuck watch. Default 30 s.
    public init(
        watchTimeout: Duration = .seconds(300), pageSize: Int? = 500, initialBackoff: Duration = .milliseconds(500),
        maxBackoff: Duration = .seconds(30), watchGrace: Duration = .seconds(30)
    ) {
        self.watchTimeout = watchTimeout
        self.pageSize = pageSize
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.watchGrace = watchGrace
    }
}

/// Why an ``Informer`` could not do what was asked.
public enum InformerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// ``Informer/waitForSync(timeout:)`` timed out before the first list completed.
    case syncTimedOut(Duration)
    /// The informer stopped before it synced.
    case stopped
    /// ``Informer/run()`` was called while the informer was already running.
    case alreadyRunning

    /// A readable explanation.
    public var description: String {
        switch self {
        case .syncTimedOut(let timeout): return "informer did not sync within \(timeout)"
        case .stopped: return "informer stopped before syncing"
        case .alreadyRunning: return "informer is already running"
        }
    }
}
