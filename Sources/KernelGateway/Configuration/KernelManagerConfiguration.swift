/// Settings of the kernel manager. Defaults are the documented defaults of the `gateway` command.
public struct KernelManagerConfiguration: Sendable {
    /// Names of request `env` variables (besides `KERNEL_*`) passed to kernels; `"*"` allows all (EG_CLIENT_ENVS).
    public var clientEnvs: Set<String>
    /// Names of the gateway's own environment variables passed to every kernel (EG_INHERITED_ENVS).
    public var inheritedEnvs: [String]
    /// The gateway's environment, the source of inherited variables.
    public var gatewayEnvironment: [String: String]
    /// Variables never passed to a kernel, whatever the other settings say (the gateway's secrets).
    public var secretEnvNames: Set<String>
    /// Root of kernel working directories: a request's `path` is resolved below it and never escapes it.
    public var rootDirectory: String
    /// Longest time a kernel may take from launch to its first `kernel_info_reply` (EG_KERNEL_LAUNCH_TIMEOUT).
    public var launchTimeout: Duration
    /// Restart a kernel whose process died unexpectedly.
    public var autoRestart: Bool
    /// Consecutive failed automatic restarts after which a kernel is declared dead.
    public var maxRestartAttempts: Int
    /// Grace period between `shutdown_request` and SIGTERM, and between SIGTERM and SIGKILL.
    public var shutdownGracePeriod: Duration
    /// Messages kept for a session while no client is attached (oldest non-status output dropped first).
    public var offlineBufferMessages: Int
    /// Bytes kept for a session while no client is attached.
    public var offlineBufferBytes: Int
    /// Messages queued for one WebSocket client before it is disconnected as too slow.
    public var clientQueueMessages: Int
    /// Bytes queued for one WebSocket client before it is disconnected as too slow.
    public var clientQueueBytes: Int
    /// Bytes all kernels' client queues, offline buffers and held messages may hold together (the gateway's
    /// ``MemoryBudget``).
    public var memoryBudgetBytes: Int
    /// Bytes one kernel's client queues, offline buffers and held messages may hold together.
    public var kernelMemoryShareBytes: Int
    /// Largest message part accepted from a kernel (`ZMQ_MAXMSGSIZE`); a larger one makes ZeroMQ drop the
    /// connection, the gateway tells the kernel's clients and reconnects. 0 = no limit.
    public var maxKernelMessageBytes: Int
    /// Interval of the gateway's own heartbeat probe of each kernel.
    public var heartbeatInterval: Duration
    /// Kernel count limits and user lists.
    public var limits: KernelLimits
    /// Whether kernels are shut down when the gateway stops: nil = local processes yes, pods no (they are
    /// adopted by the next gateway). `--shutdown-kernels-on-exit`.
    public var shutdownKernelsOnExit: Bool?
    /// How long a stopping gateway waits for replies to requests already sent to kernels it leaves running.
    public var exitDrainTimeout: Duration
    /// How often kernels' activity is handed to their provisioner to record (pod annotations).
    public var activityPublishInterval: Duration
    /// How long a stopping gateway keeps relaying for the clients of kernels it leaves running, no longer taking
    /// new ones, before it closes them (`--stop-handover`): its successors are relaying by then and can replay.
    public var stopHandover: Duration = .zero
    /// How long a starting gateway waits, before it is ready, for the kernels it adopts to answer (or fail).
    public var adoptionSettleTimeout: Duration = .seconds(15)

    /// Creates a configuration; every parameter has the documented default.
    public init(
        clientEnvs: Set<String> = [],
        inheritedEnvs: [String] = KernelManagerConfiguration.defaultInheritedEnvs,
        gatewayEnvironment: [String: String] = [:],
        secretEnvNames: Set<String> = ["EG_AUTH_TOKEN", "KG_AUTH_TOKEN", "EJ_AUTH_TOKEN"],
        rootDirectory: String,
        launchTimeout: Duration = .seconds(60),
        autoRestart: Bool = true,
        maxRestartAttempts: Int = 5,
        shutdownGracePeriod: Duration = .seconds(3),
        offlineBufferMessages: Int = 10_000,
        offlineBufferBytes: Int = 32 << 20,
        clientQueueMessages: Int = 20_000,
        clientQueueBytes: Int = 32 << 20,
        memoryBudgetBytes: Int = 192 << 20,
        kernelMemoryShareBytes: Int = 64 << 20,
        maxKernelMessageBytes: Int = 32 << 20,
        heartbeatInterval: Duration = .seconds(5),
        limits: KernelLimits = .init(),
        shutdownKernelsOnExit: Bool? = nil,
        exitDrainTimeout: Duration = .seconds(10),
        activityPublishInterval: Duration = .seconds(5)
    ) {
        self.activityPublishInterval = activityPublishInterval
        self.shutdownKernelsOnExit = shutdownKernelsOnExit
        self.exitDrainTimeout = exitDrainTimeout
        self.clientEnvs = clientEnvs
        self.inheritedEnvs = inheritedEnvs
        self.gatewayEnvironment = gatewayEnvironment
        self.secretEnvNames = secretEnvNames
        self.rootDirectory = rootDirectory
        self.launchTimeout = launchTimeout
        self.autoRestart = autoRestart
        self.maxRestartAttempts = maxRestartAttempts
        self.shutdownGracePeriod = shutdownGracePeriod
        self.offlineBufferMessages = offlineBufferMessages
        self.offlineBufferBytes = offlineBufferBytes
        self.clientQueueMessages = clientQueueMessages
        self.clientQueueBytes = clientQueueBytes
        self.memoryBudgetBytes = memoryBudgetBytes
        self.kernelMemoryShareBytes = kernelMemoryShareBytes
        self.maxKernelMessageBytes = maxKernelMessageBytes
        self.heartbeatInterval = heartbeatInterval
        self.limits = limits
    }

    /// The gateway variables a kernel inherits unless EG_INHERITED_ENVS says otherwise: what a
    /// process needs to run at all, nothing that could carry a secret.
    public static let defaultInheritedEnvs = ["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"]
}
