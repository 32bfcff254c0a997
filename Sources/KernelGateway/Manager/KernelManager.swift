import Foundation
import JupyterProtocol
import Logging
import ServiceLifecycle
import ZeroMQ

/// The registry of kernels: admits starts (kernelspec, user, limits, ids), lists kernels and routes each
/// operation to the kernel's ``KernelSupervisor``, which owns its lifecycle. A `Service`: its `run()` adopts the
/// kernels earlier gateway processes left running (pods), hosts the supervisors' background work (structured:
/// children of `run()`), and on graceful shutdown stops local kernels and lets pod kernels go, still running.
public actor KernelManager: Service {
    /// The kernelspecs kernels are started from.
    public nonisolated let catalog: KernelSpecCatalog
    /// The manager's settings.
    public nonisolated let configuration: KernelManagerConfiguration
    nonisolated let logger: Logger
    nonisolated let now: @Sendable () -> Date
    nonisolated let reactor: ZMQReactor
    nonisolated let context: SupervisorContext
    var supervisors: [String: KernelSupervisor] = [:]
    private nonisolated let jobs: AsyncStream<@Sendable () async -> Void>
    var ready = false
    /// Claimed `KERNEL_USERNAME`s already logged (see ``ownedEnvironment(_:requester:)``).
    var claimLog = OnceLog()
    /// The provisioner kinds this gateway can launch: kernelspecs of other kinds are not listed.
    public nonisolated let availableProvisioners: Set<ProvisionerKind>
    /// The ceiling on memory held for kernels and their clients (see ``MemoryBudget``).
    public nonisolated let memory: MemoryBudget
    /// Where kernel starts, restarts, culls and GPU time are counted.
    public nonisolated let metrics: GatewayMetrics

    /// Creates a manager.
    public init(catalog: KernelSpecCatalog, provisioner: any Provisioner, configuration: KernelManagerConfiguration,
                reactor: ZMQReactor, logger: Logger, availableProvisioners: Set<ProvisionerKind> = [.local],
                metrics: GatewayMetrics = GatewayMetrics(), now: @escaping @Sendable () -> Date = { Date() }) {
        self.availableProvisioners = availableProvisioners
        self.metrics = metrics
        self.catalog = catalog
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.reactor = reactor
        self.memory = MemoryBudget(total: configuration.memoryBudgetBytes, kernelShare: configuration.kernelMemoryShareBytes)
        let (jobs, jobContinuation) = AsyncStream<@Sendable () async -> Void>.makeStream()
        self.jobs = jobs
        self.context = SupervisorContext(
            provisioner: provisioner, configuration: configuration, reactor: reactor, logger: logger, memory: memory, now: now,
            metrics: metrics, spawn: { job in jobContinuation.yield(job) })
        jobFinish = { jobContinuation.finish() }
    }

    private nonisolated let jobFinish: @Sendable () -> Void

    /// Whether the manager accepts new kernels (for `/readyz`).
    public var isReady: Bool { ready }

    // MARK: Service

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runJobs() }
            group.addTask { await self.runHeartbeats() }
            group.addTask { await self.publishActivity() }
            await adoptRunningKernels()
            group.addTask { [context] in await context.provisioner.followRunningKernels { await self.noteRunning($0) } }
            ready = true
            // On SIGTERM: local kernels stop, pod kernels are let go (still running), then background work ends.
            try? await gracefulShutdown()
            await self.shutdownAll()
            self.jobFinish()
            group.cancelAll()
        }
        reactor.shutdown()
    }

    private nonisolated func runJobs() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask { await job() }
            }
        }
    }

    /// Records each running kernel's activity where it runs (pod annotations: other replicas and the next
    /// gateway see it); the provisioner writes only what changed, at most as often as it allows.
    private nonisolated func publishActivity() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.activityPublishInterval) } catch { return }
            for kernel in await allKernels() where kernel.phase == .running {
                await kernel.process?.noteActivity(kernel.model().lastActivity, restarts: kernel.restarts)
            }
        }
    }

    /// Probes each running kernel's heartbeat.
    private nonisolated func runHeartbeats() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.heartbeatInterval) } catch { return }
            for kernel in await allKernels() where kernel.phase == .running {
                guard let connection = kernel.connection else { continue }
                let alive = await connection.probeHeartbeat(timeout: .seconds(3))
                if !alive, kernel.phase == .running {
                    logger.warning("kernel missed a heartbeat", metadata: ["kernel_id": "\(kernel.id)"])
                }
            }
        }
    }

    // MARK: Queries

    /// The kernelspecs this gateway can launch (pod kernelspecs only when a cluster is configured).
    public nonisolated func visibleSpecs() -> [String: KernelSpec] {
        catalog.specs().filter { availableProvisioners.contains($0.value.provisioner) }
    }

    /// One launchable kernelspec by name.
    public nonisolated func visibleSpec(named name: String) -> KernelSpec? {
        catalog.spec(named: name).flatMap { availableProvisioners.contains($0.provisioner) ? $0 : nil }
    }

    /// Whether `user` may start kernels of `spec` (global and kernelspec user lists combined).
    public nonisolated func allows(user: String?, spec: KernelSpec) -> Bool {
        configuration.limits.allows(user: user, spec: spec)
    }

    /// Every kernel that is not terminated.
    public func allKernels() -> [ManagedKernel] { supervisors.values.map(\.kernel) }

    /// A kernel by id.
    public func kernel(_ id: String) throws(GatewayError) -> ManagedKernel {
        try supervisor(id).kernel
    }

    private func supervisor(_ id: String) throws(GatewayError) -> KernelSupervisor {
        guard let supervisor = supervisors[id] else { throw .noSuchKernel(id: id) }
        return supervisor
    }

    /// The models of the kernels `requester` may see, optionally only one user's.
    public func models(user: String? = nil, visibleTo requester: UserIdentity = .anonymousAdmin) -> [KernelModel] {
        supervisors.values.map(\.kernel)
            .filter { (user == nil || $0.user == user) && requester.canAccess(ownedBy: $0.user) }
            .sorted { $0.createdAt < $1.createdAt }
            .map { $0.model() }
    }

    // MARK: Start

    /// Starts a kernel and returns once it answers `kernel_info_request`.
    public func start(_ request: StartRequest) async throws(GatewayError) -> KernelModel {
        guard ready else { throw .kernelUnavailable(id: "-", state: "not ready: the gateway is stopping") }
        let context = try admit(request)
        let kernel = ManagedKernel(
            launchContext: context,
            lifecycle: KernelLifecycle(autoRestart: configuration.autoRestart, maxAutomaticRestarts: configuration.maxRestartAttempts),
            now: now())
        let supervisor = KernelSupervisor(kernel: kernel, context: self.context)
        track(supervisor)
        do {
            try await supervisor.start()
        } catch {
            await self.context.provisioner.release(context)
            supervisors.removeValue(forKey: kernel.id)
            logger.warning("kernel start failed", metadata: ["kernel_id": "\(kernel.id)", "error": "\(error)"])
            throw error
        }
        logger.info("kernel started", metadata: [
            "kernel_id": "\(kernel.id)", "kernelspec": "\(kernel.spec.name)", "user": "\(kernel.user ?? "-")",
        ])
        return kernel.model()
    }

    /// Checks a start request against the kernelspecs, the user lists and the limits, and returns what to launch.
    /// Checked and reserved with no suspension in between: concurrent starts cannot overshoot.
    private func admit(_ request: StartRequest) throws(GatewayError) -> LaunchContext {
        let name = request.kernelName ?? catalog.defaultKernelName
        guard let spec = visibleSpec(named: name) else { throw .noSuchKernelSpec(name: name) }
        let requester = request.requester
        guard requester.mayStart(kernelSpec: spec.name) else {
            throw .userNotAuthorized(user: requester.name ?? "", kernelSpec: spec.displayName)
        }
        var clientVariables = try KernelEnvironment.acceptedClientVariables(
            ownedEnvironment(request.environment ?? [:], requester: requester), configuration: configuration)
        if !requester.isAdmin, let name = requester.name { clientVariables["KERNEL_USERNAME"] = name }
        let user = clientVariables["KERNEL_USERNAME"]
        guard configuration.limits.allows(user: user, spec: spec) else {
            throw .userNotAuthorized(user: user ?? "", kernelSpec: spec.displayName)
        }
        let bucket = KernelLimits.bucket(of: user)
        let userLimit = requester.isAdmin ? nil : requester.maxKernels
        try configuration.limits.forUser(limit: userLimit).check(
            total: supervisors.count, forUser: user,
            userCount: supervisors.values.filter { KernelLimits.bucket(of: $0.kernel.user) == bucket }.count)
        let kernelID = try chooseKernelID(clientVariables["KERNEL_ID"])
        let workingDirectory = try WorkingDirectory.resolve(
            notebookPath: request.path, kernelWorkingDir: clientVariables["KERNEL_WORKING_DIR"], root: configuration.rootDirectory)
        let environment = KernelEnvironment.build(
            clientVariables: clientVariables, spec: spec, kernelID: kernelID, configuration: configuration)
        _ = try LaunchTimeout.resolve(environment, maximum: configuration.launchTimeout)
        var context = LaunchContext(kernelID: kernelID, spec: spec, environment: environment, workingDirectory: workingDirectory, user: user)
        context.notebookPath = request.path
        context.userKernelLimit = userLimit
        // The owner's own namespace and files only: an admin starting for someone else gets neither theirs nor its own.
        if requester.name != nil, requester.name == user {
            context.namespace = requester.kernelNamespace
            context.workspace = requester.workspace.map {
                KernelWorkspace(claim: $0.claim, mountPath: $0.mountPath, notebookPodLabels: $0.notebookPodLabels, subPath: $0.path)
            }
        }
        return context
    }

    private func chooseKernelID(_ requested: String?) throws(GatewayError) -> String {
        guard let requested else { return UUID().uuidString.lowercased() }
        guard let uuid = UUID(uuidString: requested), uuid.uuidString.lowercased() == requested else {
            throw .invalidRequest("KERNEL_ID must be a lowercase UUID")
        }
        guard supervisors[requested] == nil else { throw .invalidRequest("Kernel id \(requested) is already in use") }
        return requested
    }

    // MARK: Operations

    /// Interrupts the kernel: SIGINT, or `interrupt_request` on control for `interrupt_mode: message`.
    public func interrupt(_ id: String) async throws(GatewayError) {
        try await supervisor(id).interrupt()
    }

    /// Restarts the kernel (same id, new process) and returns once it answers. A restart that a shutdown (DELETE,
    /// culling) overtakes fails with ``GatewayError/noSuchKernel(id:)`` once the kernel is gone, else
    /// ``GatewayError/kernelUnavailable(id:state:)``; never with a launch failure.
    public func restart(_ id: String) async throws(GatewayError) -> KernelModel {
        let supervisor = try supervisor(id)
        do {
            try await supervisor.restart()
            try checkNotStopped(supervisor)
            return supervisor.kernel.model()
        } catch {
            try checkNotStopped(supervisor)
            throw error
        }
    }

    /// Throws when the kernel is being (or was) shut down: gone → no such kernel, otherwise unavailable.
    private func checkNotStopped(_ supervisor: KernelSupervisor) throws(GatewayError) {
        guard supervisor.kernel.phase.isEnding else { return }
        guard supervisors[supervisor.id] === supervisor else { throw .noSuchKernel(id: supervisor.id) }
        throw .kernelUnavailable(id: supervisor.id, state: "shutting down")
    }

    /// Shuts the kernel down (shutdown_request, then SIGTERM, then SIGKILL; a pod is deleted), closes its clients
    /// with a reason and forgets it.
    public func shutdown(_ id: String, reason: String = "Kernel shut down") async throws(GatewayError) {
        try await end(id, .shutdown, reason: reason)
    }

    /// Culls a kernel: clients see a `dead` status, then the kernel is shut down exactly like DELETE.
    public func cull(_ id: String, reason: String) async throws(GatewayError) {
        try await end(id, .cull, reason: reason)
    }

    private func end(_ id: String, _ ending: KernelSupervisor.Ending, reason: String) async throws(GatewayError) {
        let supervisor = try supervisor(id)
        guard await supervisor.end(ending, reason: reason) else { return }
        if supervisors[id] === supervisor { supervisors.removeValue(forKey: id) }
        if !ending.isDetach { await context.provisioner.release(supervisor.kernel.launchContext) }
        logger.info(ending.isDetach ? "kernel left running" : "kernel shut down", metadata: ["kernel_id": "\(id)", "reason": "\(reason)"])
    }

    /// Stops serving kernels (gateway shutdown): local kernels (and every kernel with `--shutdown-kernels-on-exit`)
    /// are shut down; pod kernels are let go, still running, for the next gateway to adopt.
    public func shutdownAll() async {
        ready = false
        let all = Array(supervisors.values)
        logger.info("stopping", metadata: ["kernels": "\(all.count)"])
        let drain = configuration.exitDrainTimeout
        let handedOver = all.filter { !shutsDownOnExit($0.kernel) && $0.kernel.connection?.hasClients == true }
        if configuration.stopHandover > .zero, !handedOver.isEmpty {
            // Connection draining (what a preStop delay does): the Service no longer routes here, the clients
            // attached keep being served while the replicas that take over start relaying the same kernels.
            logger.info("handing over: attached clients are served a little longer", metadata: [
                "kernels": "\(handedOver.count)", "seconds": "\(configuration.stopHandover.components.seconds)",
            ])
            try? await Task.sleep(for: configuration.stopHandover)
        }
        await withTaskGroup(of: Void.self) { group in
            for supervisor in all {
                let ending: KernelSupervisor.Ending = shutsDownOnExit(supervisor.kernel) ? .shutdown : .detach(drain: drain)
                group.addTask { try? await self.end(supervisor.id, ending, reason: "The gateway is shutting down") }
            }
        }
    }

    private nonisolated func shutsDownOnExit(_ kernel: ManagedKernel) -> Bool {
        if let explicit = configuration.shutdownKernelsOnExit { return explicit }
        guard kernel.phase == .running, let process = kernel.process else { return true }
        return !process.outlivesGateway
    }

    /// Registers a supervisor; it is forgotten once its kernel is terminated, however that happened.
    func track(_ supervisor: KernelSupervisor) {
        supervisors[supervisor.id] = supervisor
        context.spawn {
            try? await supervisor.finished.wait()
            await self.forget(supervisor)
        }
    }

    private func forget(_ supervisor: KernelSupervisor) {
        if supervisors[supervisor.id] === supervisor { supervisors.removeValue(forKey: supervisor.id) }
    }
}
