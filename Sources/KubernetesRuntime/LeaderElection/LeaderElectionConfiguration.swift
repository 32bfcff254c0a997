/// Settings of a ``LeaderElector``.
///
/// Must hold: `leaseDuration > renewDeadline > retryPeriod > 0`. Defaults are client-go's (15 s, 10 s, 2 s).
public struct LeaderElectionConfiguration: Sendable, Hashable {
    /// Name of the `coordination.k8s.io/v1` Lease.
    public var leaseName: String
    /// Namespace of the Lease.
    public var namespace: String
    /// This candidate's identity (unique per replica, e.g. the pod name).
    public var identity: String
    /// How long a lease holds without renewal before others may take it. Default 15 s.
    public var leaseDuration: Duration
    /// How long the leader keeps trying to renew before it gives up leadership. Default 10 s.
    public var renewDeadline: Duration
    /// Delay between acquire/renew attempts. Default 2 s.
    public var retryPeriod: Duration
    /// Release the lease when stopping gracefully, so another candidate takes over at once. Default `true`.
    public var releaseOnStop: Bool

    /// Creates settings.
    /// - Parameters:
    ///   - leaseName: Lease name.
    ///   - namespace: Lease namespace.
    ///   - identity: Candidate identity.
    ///   - leaseDuration: Lease duration. Default 15 s.
    ///   - renewDeadline: Renew deadline. Default 10 s.
    ///   - retryPeriod: Retry period. Default 2 s.
    ///   - releaseOnStop: Release on graceful stop. Default `true`.
    public init(
        leaseName: String, namespace: String, identity: String,
        leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10),
        retryPeriod: Duration = .seconds(2), releaseOnStop: Bool = true
    ) {
        self.leaseName = leaseName
        self.namespace = namespace
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnStop = releaseOnStop
    }

    /// Checks `leaseDuration > renewDeadline > retryPeriod > 0` and a non-empty identity.
    var isValid: Bool {
        !identity.isEmpty && !leaseName.isEmpty && leaseDuration > renewDeadline && renewDeadline > retryPeriod
            && retryPeriod > .zero
    }
}

/// A change of leadership seen by a ``LeaderElector``.
public enum LeadershipEvent: Sendable, Hashable {
    /// This candidate became the leader.
    case startedLeading
    /// This candidate stopped being the leader (lost the lease, or stopped).
    case stoppedLeading
    /// The lease is held by someone (possibly this candidate); reported when the holder changes.
    case newLeader(String)
}

/// Why a ``LeaderElector`` cannot run.
public enum LeaderElectionError: Error, Sendable, Hashable {
    /// The configuration breaks `leaseDuration > renewDeadline > retryPeriod > 0` or has an empty identity/name.
    case invalidConfiguration
    /// ``LeaderElector/run()`` was called while already running.
    case alreadyRunning
}
