import KubernetesAPI
import KubernetesRuntime

/// Settings of the controller process.
public struct ControllerConfiguration: Sendable {
    /// Leader election on a Lease.
    public struct LeaderElection: Sendable, Hashable {
        /// Lease name. Default `elastic-jupyter-controller`.
        public var leaseName: String
        /// Lease namespace.
        public var leaseNamespace: String
        /// This instance's identity.
        public var identity: String
        /// Lease duration. Default 15 s.
        public var leaseDuration: Duration
        /// Renew deadline. Default 10 s.
        public var renewDeadline: Duration
        /// Retry period. Default 2 s.
        public var retryPeriod: Duration

        /// Creates settings.
        public init(
            leaseName: String = "elastic-jupyter-controller", leaseNamespace: String, identity: String,
            leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)
        ) {
            self.leaseName = leaseName
            self.leaseNamespace = leaseNamespace
            self.identity = identity
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }

        /// The runtime's configuration.
        var runtime: LeaderElectionConfiguration {
            LeaderElectionConfiguration(
                leaseName: leaseName, namespace: leaseNamespace, identity: identity, leaseDuration: leaseDuration,
                renewDeadline: renewDeadline, retryPeriod: retryPeriod, releaseOnStop: true)
        }
    }

    /// Namespace watched; `nil` watches all namespaces.
    public var namespace: String?
    /// Leader election; `nil` runs without (a single instance).
    public var leaderElection: LeaderElection?
    /// This instance's identity (Events' `reportingInstance`).
    public var identity: String
    /// Address the probe and metrics servers listen on. Default `0.0.0.0`.
    public var bindAddress: String
    /// Port of `/metrics`; 0 disables it. Default 8080.
    public var metricsPort: Int
    /// Port of `/healthz` and `/readyz`; 0 disables them. Default 8081.
    public var healthPort: Int
    /// Images.
    public var render: RenderSettings
    /// Concurrent reconciles per controller. Default 2.
    public var workers: Int
    /// Period of the drift-correcting resync of settled objects. Default 10 min.
    public var resyncPeriod: Duration
    /// How long a notebook's claim may stay Pending before its condition names the cause. Default 30 s.
    public var claimPendingGrace: Duration
    /// Informer tuning.
    public var informer: InformerConfiguration
    /// Per-key retry backoff.
    public var rateLimiter: RateLimiter

    /// Creates a configuration.
    public init(
        namespace: String? = nil, leaderElection: LeaderElection? = nil, identity: String, bindAddress: String = "0.0.0.0",
        metricsPort: Int = 8080, healthPort: Int = 8081, render: RenderSettings = RenderSettings(), workers: Int = 2,
        resyncPeriod: Duration = .seconds(600), claimPendingGrace: Duration = .seconds(30),
        informer: InformerConfiguration = InformerConfiguration(),
        rateLimiter: RateLimiter = RateLimiter(baseDelay: .milliseconds(100), maxDelay: .seconds(120), jitter: 0.1)
    ) {
        self.namespace = namespace
        self.leaderElection = leaderElection
        self.identity = identity
        self.bindAddress = bindAddress
        self.metricsPort = metricsPort
        self.healthPort = healthPort
        self.render = render
        self.workers = workers
        self.resyncPeriod = resyncPeriod
        self.claimPendingGrace = claimPendingGrace
        self.informer = informer
        self.rateLimiter = rateLimiter
    }
}
