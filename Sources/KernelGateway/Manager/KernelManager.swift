import Foundation
import JupyterProtocol
import Logging
import ServiceLifecycle
import ZeroMQ

/// Starts, tracks, restarts and stops kernels. A `Service`: its `run()` hosts the per-kernel monitor
/// tasks (structured: they are children of `run()`) and, on graceful shutdown, stops every kernel so
/// that none outlives the gateway.
public actor KernelManager: Service {
    /// The kernelspecs kernels are started from.
    public nonisolated let catalog: KernelSpecCatalog
    nonisolated let provisioner: any Provisioner
    /// The manager's settings.
    public nonisolated let configuration: KernelManagerConfiguration
    nonisolated let reactor: ZMQReactor
    nonisolated let logger: Logger
    nonisolated let now: @Sendable () -> Date
    private var kernels: [String: ManagedKernel] = [:]
    private nonisolated let jobs: AsyncStream<@Sendable () async -> Void>
    private nonisolated let jobContinuation: AsyncStream<@Sendable () async -> Void>.Continuation
    private var ready = false
    /// The provisioner kinds this gateway can launch: kernelspecs of other kinds are not listed.
    public nonisolated let availableProvisioners: Set<ProvisionerKind>
    /// The ceiling on memory held for kernels and their clients (see ``MemoryBudget``).
    public nonisolated let memory: MemoryBudget

    /// Creates a manager.
    public init(catalog: KernelSpecCatalog, provisioner: any Provisioner, configuration: KernelManagerConfiguration,
                reactor: ZMQReactor, logger: Logger, availableProvisioners: Set<ProvisionerKind> = [.local],
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.availableProvisioners = availableProvisioners
        self.catalog = catalog
        self.provisioner = provisioner
        self.configuration = configuration
        self.reactor = reactor
        self.logger = logger
        self.now = now
        self.memory = MemoryBudget(total: configuration.memoryBudgetBytes, kernelShare: configuration.kernelMemoryShareBytes)
        (jobs, jobContinuation) = AsyncStream.makeStream()
    }

    /// Whether the manager accepts new kernels (for `/readyz`).
    public var isReady: Bool { ready }

    // MARK: Service

    public func run() async throws {
        ready = true
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runJobs() }
            group.addTask { await self.runHeartbeats() }
            // Stop every kernel when the gateway is asked to stop (SIGTERM), then end the background work.
            try? await gracefulShutdown()
            await self.shutdownAll()
            self.jobContinuation.finish()
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

    private nonisolated func runHeartbeats() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.heartbeatInterval) } catch { return }
            for kernel in await allKernels() where kernel.phase == .running {
                if let process = kernel.process {
                    await process.noteActivity(kernel.model().lastActivity)
                }
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

    /// Every kernel that is not terminated.
    public func allKernels() -> [ManagedKernel] { Array(kernels.values) }

    /// A kernel by id.
    public func kernel(_ id: String) throws(GatewayError) -> ManagedKernel {
        guard let kernel = kernels[id] else { throw .noSuchKernel(id: id) }
        return kernel
    }

    /// The models of all kernels, optionally only one user's.
    public func models(user: String? = nil) -> [KernelModel] {
        kernels.values
            .filter { user == nil || $0.user == user }
            .sorted { $0.createdAt < $1.createdAt }
            .map { $0.model() }
    }

    // MARK: Start

    /// Starts a kernel and returns once it answers `kernel_info_request`.
    public func start(_ request: StartRequest) async throws(GatewayError) -> KernelModel {
        guard ready else { throw .kernelUnavailable(id: "-", state: "not ready: the gateway is stopping") }
        let name = request.kernelName ?? catalog.defaultKernelName
        guard let spec = visibleSpec(named: name) else { throw .noSuchKernelSpec(name: name) }
        let clientVariables = try KernelEnvironment.acceptedClientVariables(request.environment ?? [:], configuration: configuration)
        let user = clientVariables["KERNEL_USERNAME"]
        guard configuration.limits.allows(user: user, spec: spec) else {
            throw .userNotAuthorized(user: user ?? "", kernelSpec: spec.displayName)
        }
        // Checked and reserved with no suspension in between: concurrent starts cannot overshoot.
        try configuration.limits.check(
            total: kernels.count, forUser: user,
            userCount: kernels.values.filter { KernelLimits.bucket(of: $0.user) == KernelLimits.bucket(of: user) }.count)
        let kernelID = try chooseKernelID(clientVariables["KERNEL_ID"])
        let workingDirectory = try WorkingDirectory.resolve(
            notebookPath: request.path, kernelWorkingDir: clientVariables["KERNEL_WORKING_DIR"], root: configuration.rootDirectory)
        let environment = KernelEnvironment.build(
            clientVariables: clientVariables, spec: spec, kernelID: kernelID, configuration: configuration)
        _ = try LaunchTimeout.resolve(environment, maximum: configuration.launchTimeout)
        let context = LaunchContext(kernelID: kernelID, spec: spec, environment: environment,
                                    workingDirectory: workingDirectory, user: user)
        let kernel = ManagedKernel(
            launchContext: context,
            lifecycle: KernelLifecycle(autoRestart: configuration.autoRestart, maxAutomaticRestarts: configuration.maxRestartAttempts),
            now: now())
        kernels[kernelID] = kernel
        do {
            try await launch(kernel, reuse: nil)
        } catch {
            _ = kernel.handle(.launchFailed(reason: error.description))
            kernels.removeValue(forKey: kernelID)
            logger.warning("kernel start failed", metadata: ["kernel_id": "\(kernelID)", "error": "\(error)"])
            throw error
        }
        logger.info("kernel started", metadata: ["kernel_id": "\(kernelID)", "kernelspec": "\(spec.name)", "user": "\(user ?? "-")"])
        return kernel.model()
    }

    private func chooseKernelID(_ requested: String?) throws(GatewayError) -> String {
        guard let requested else { return UUID().uuidString.lowercased() }
        guard let uuid = UUID(uuidString: requested), uuid.uuidString.lowercased() == requested else {
            throw .invalidRequest("KERNEL_ID must be a lowercase UUID")
        }
        guard kernels[requested] == nil else { throw .invalidRequest("Kernel id \(requested) is already in use") }
        return requested
    }

    /// Launches the kernel's process (first start or restart), connects the relay and waits until ready.
    private nonisolated func launch(_ kernel: ManagedKernel, reuse: ConnectionInfo?) async throws(GatewayError) {
        var context = kernel.launchContext
        context.reuseConnection = reuse
        let provisioned: any ProvisionedKernel
        context.launchTimeout = effectiveLaunchTimeout(context)
        let launchContext = context
        let provisioner = self.provisioner
        // The launch is abandoned (and cleaned up by the provisioner) if the kernel is shut down meanwhile,
        // e.g. because the gateway is stopping.
        enum LaunchOutcome: Sendable { case launched(any ProvisionedKernel), failed(ProvisionerError), stopped }
        let outcome = await withTaskGroup(of: LaunchOutcome.self) { group in
            group.addTask {
                do { return .launched(try await provisioner.launch(launchContext)) } catch let error as ProvisionerError { return .failed(error) } catch { return .failed(.launchFailed("\(error)")) }
            }
            group.addTask {
                await Self.shutdownRequested(kernel)
                return .stopped
            }
            let first = await group.next() ?? .stopped
            group.cancelAll()
            return first
        }
        switch outcome {
        case .launched(let kernel): provisioned = kernel
        case .failed(let error):
            if case .refused(let refusal) = error { throw refusal }
            throw .launchFailed(error.description)
        case .stopped:
            throw .launchFailed("The kernel was shut down while it was starting")
        }
        let connection: KernelConnection
        if let existing = kernel.connection {
            connection = existing
            if existing.info != provisioned.connectionInfo {
                do {
                    try await existing.reconnect(to: provisioned.connectionInfo)
                } catch {
                    await provisioned.terminate(grace: .seconds(1))
                    await provisioned.cleanUp()
                    throw error
                }
            }
        } else {
            do {
                connection = try KernelConnection(
                    kernelID: kernel.id, info: provisioned.connectionInfo, reactor: reactor, configuration: configuration,
                    logger: logger, memory: memory.account(kernelID: kernel.id),
                    onClientMessage: { [now] peek in kernel.recordClientMessage(peek: peek, now: now()) },
                    onKernelMessage: { [now] channel, peek, parentType in
                        kernel.recordKernelMessage(channel: channel, peek: peek, parentType: parentType, now: now())
                    })
                try await connection.connect()
            } catch {
                await provisioned.terminate(grace: .seconds(1))
                await provisioned.cleanUp()
                throw error
            }
        }
        let generation: Int = kernel.state.withLock { state in
            _ = state.lifecycle.handle(.launched)
            state.process = provisioned
            state.connection = connection
            state.reportedState = "starting"
            return state.lifecycle.generation
        }
        jobContinuation.yield { [self] in
            let exit = await provisioned.waitForExit()
            await self.processExited(kernel, generation: generation, exit: exit)
        }
        do {
            try await waitUntilReady(connection: connection, process: provisioned, timeout: context.launchTimeout, kernel: kernel)
        } catch {
            await provisioned.terminate(grace: .seconds(1))
            await provisioned.cleanUp()
            if reuse == nil {
                connection.disconnect()
                kernel.state.withLock { $0.connection = nil }
            }
            throw error
        }
        _ = kernel.handle(.ready(at: now()))
    }

    /// Returns once the kernel is being shut down (or the calling task is cancelled).
    static func shutdownRequested(_ kernel: ManagedKernel?) async {
        guard let kernel else {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return
        }
        while !Task.isCancelled {
            switch kernel.phase {
            case .shuttingDown, .terminated: return
            default: try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Waits (at most 2 s: a loaded machine delays the kernel's `idle`) for the `idle` that follows the readiness
    /// probe's `busy`, so that the model a
    /// start answers with says `idle` rather than the probe's `busy`. Normally only the probe can have made the
    /// kernel busy here: nobody has its id before the start answers, and during a restart clients' messages
    /// are held until the kernel is ready.
    private static func settle(_ kernel: ManagedKernel?) async {
        guard let kernel else { return }
        let deadline = ContinuousClock.now + .seconds(2)
        while kernel.reportsBusy, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The gateway's launch timeout, or the client's `KERNEL_LAUNCH_TIMEOUT` when that is lower.
    /// The value was checked when the start was requested; should it be unusable anyway, the maximum applies.
    private nonisolated func effectiveLaunchTimeout(_ context: LaunchContext) -> Duration {
        (try? LaunchTimeout.resolve(context.environment, maximum: configuration.launchTimeout)) ?? configuration.launchTimeout
    }

    /// Sends `kernel_info_request` (repeated, the kernel may still be binding its sockets) until a reply
    /// arrives; fails at once if the process exits, or after `timeout`.
    private nonisolated func waitUntilReady(connection: KernelConnection, process: any ProvisionedKernel,
                                            timeout: Duration, kernel: ManagedKernel? = nil) async throws(GatewayError) {
        enum Outcome: Sendable { case ready, exited(KernelExit), timedOut }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                // Ready = a kernel_info_reply on shell AND a live iopub subscription (any iopub message,
                // e.g. the status the kernel_info_request causes): otherwise a client's first execute could
                // lose its output to ZeroMQ's slow-joiner window.
                var round = 0
                while !Task.isCancelled {
                    let request = MessageFactory.make(msgType: "kernel_info_request", content: [:], session: "gateway-\(connection.kernelID)")
                    round += 1
                    // A kernel that publishes no status for these requests, or binds no stdin, is taken as it is.
                    if round == 10 { connection.acceptAnyIopub() }
                    if let msgID = MessagePeek.peek(request).msgID { connection.noteReadinessProbe(msgID) }
                    if (try? await connection.request(request, channel: .shell, timeout: .seconds(2))) != nil {
                        // ...and a connected stdin socket: the kernel drops an input_request it cannot route.
                        // When the subscription joined too late for this request's status, the next request
                        // (30 ms on) publishes another one.
                        for _ in 0..<3 {
                            if connection.iopubSeen {
                                let stdinUp = await connection.stdinConnected()
                                if stdinUp || round >= 10 {
                                    await Self.settle(kernel)
                                    return .ready
                                }
                            }
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                    }
                }
                return .timedOut
            }
            group.addTask { await process.waitForExitOrCancellation().map { .exited($0) } ?? .timedOut }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            group.addTask {
                await Self.shutdownRequested(kernel)
                return Task.isCancelled ? .timedOut : .exited(.lost(reason: "shut down while starting"))
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
        switch outcome {
        case .ready: return
        case .exited(let exit): throw .launchFailed("The kernel process \(exit) before it was ready")
        case .timedOut: throw .launchFailed("The kernel did not answer within the launch timeout of \(timeout)")
        }
    }

    // MARK: Unexpected death

    private func processExited(_ kernel: ManagedKernel, generation: Int, exit: KernelExit) async {
        let action = kernel.handle(.processExited(generation: generation, at: now(), description: exit.description))
        switch action {
        case .restartAutomatically:
            logger.warning("kernel died, restarting", metadata: ["kernel_id": "\(kernel.id)", "exit": "\(exit)"])
            await restartAutomatically(kernel, reason: "Kernel \(exit)")
        case .declareDead(let reason):
            await declareDead(kernel, reason: reason)
        default:
            break
        }
    }

    private func restartAutomatically(_ kernel: ManagedKernel, reason: String) async {
        let connection = kernel.connection
        connection?.holdClientMessages()
        defer { connection?.releaseClientMessages() }
        while true {
            kernel.state.withLock { $0.reason = reason }
            broadcastStatus(kernel, "restarting")
            // The old process may still publish while it dies (a pod being deleted gracefully): only the new
            // process's answer to a readiness probe proves the subscription live.
            kernel.connection?.resetIopubSeen(untilProbed: true)
            if let old = kernel.process { await old.cleanUp() }
            do {
                try await launch(kernel, reuse: kernel.connection?.info)
                kernel.state.withLock { $0.reason = nil }
                logger.info("kernel restarted automatically", metadata: ["kernel_id": "\(kernel.id)"])
                return
            } catch {
                switch kernel.handle(.launchFailed(reason: error.description)) {
                case .restartAutomatically: continue
                case .declareDead(let reason):
                    await declareDead(kernel, reason: reason)
                    return
                default: return
                }
            }
        }
    }

    private func declareDead(_ kernel: ManagedKernel, reason: String) async {
        logger.error("kernel is dead", metadata: ["kernel_id": "\(kernel.id)", "reason": "\(reason)"])
        kernel.state.withLock { $0.reason = reason }
        broadcastStatus(kernel, "dead")
        if let process = kernel.process {
            await process.terminate(grace: .seconds(1))
            await process.cleanUp()
        }
    }

    private nonisolated func broadcastStatus(_ kernel: ManagedKernel, _ executionState: String) {
        guard let connection = kernel.connection else { return }
        let parts = MessageFactory.make(msgType: "status", content: ["execution_state": .string(executionState)],
                                        session: "gateway-\(kernel.id)")
        connection.broadcast(ChannelMessage(channel: .iopub, parts: parts))
    }

    // MARK: Interrupt, restart, shutdown

    /// Interrupts the kernel: SIGINT, or `interrupt_request` on control for `interrupt_mode: message`.
    public func interrupt(_ id: String) async throws(GatewayError) {
        let kernel = try kernel(id)
        kernel.recordActivity(now: now())
        guard kernel.phase == .running, let process = kernel.process else {
            throw .kernelUnavailable(id: id, state: kernel.model().executionState)
        }
        switch process.supportsSignals ? kernel.spec.interruptMode : .message {
        case .signal:
            do { try await process.interruptBySignal() } catch { throw .internalError("Interrupt failed: \(error)") }
        case .message:
            guard let connection = kernel.connection else { throw .kernelUnavailable(id: id, state: "disconnected") }
            let request = MessageFactory.make(msgType: "interrupt_request", content: [:], session: "gateway-\(id)")
            do {
                _ = try await connection.request(request, channel: .control, timeout: .seconds(10))
            } catch {
                throw .timeout("The kernel did not acknowledge the interrupt")
            }
        }
    }

    /// Restarts the kernel (same id, new process) and returns once it answers. A restart that a shutdown (DELETE,
    /// culling) overtakes fails with ``GatewayError/noSuchKernel(id:)`` once the kernel is gone, else
    /// ``GatewayError/kernelUnavailable(id:state:)``; never with a launch failure.
    public func restart(_ id: String) async throws(GatewayError) -> KernelModel {
        let kernel = try kernel(id)
        do {
            let model = try await restart(kernel)
            try checkNotStopped(kernel)
            return model
        } catch {
            try checkNotStopped(kernel)
            throw error
        }
    }

    /// Throws when `kernel` is being (or was) shut down: gone → no such kernel, otherwise unavailable.
    private func checkNotStopped(_ kernel: ManagedKernel) throws(GatewayError) {
        switch kernel.phase {
        case .shuttingDown, .terminated:
            guard kernels[kernel.id] === kernel else { throw .noSuchKernel(id: kernel.id) }
            throw .kernelUnavailable(id: kernel.id, state: "shutting down")
        default:
            return
        }
    }

    private func restart(_ kernel: ManagedKernel) async throws(GatewayError) -> KernelModel {
        let id = kernel.id
        kernel.recordActivity(now: now())
        switch kernel.handle(.restartRequested) {
        case .proceedWithRestart: break
        case .reject(let reason): throw .kernelUnavailable(id: id, state: reason)
        default: throw .kernelUnavailable(id: id, state: kernel.model().executionState)
        }
        // What clients send meanwhile waits for the new process to be ready.
        let heldConnection = kernel.connection
        heldConnection?.holdClientMessages()
        defer { heldConnection?.releaseClientMessages() }
        if let process = kernel.process, !process.hasExited, process.restartsInPlace, let connection = kernel.connection {
            // A new kernel process in the same pod: the pod (and its GPU) stays. Until the new process answers
            // a probe on iopub, the SUB socket may still be (re)joining it: the old one's last messages don't count.
            connection.resetIopubSeen(untilProbed: true)
            let request = MessageFactory.make(msgType: "shutdown_request", content: ["restart": .bool(true)], session: "gateway-\(id)")
            _ = try? await connection.request(request, channel: .control, timeout: configuration.shutdownGracePeriod)
            try? await Task.sleep(for: .milliseconds(300))
            do {
                try await waitUntilReady(connection: connection, process: process, timeout: effectiveLaunchTimeout(kernel.launchContext))
                _ = kernel.handle(.ready(at: now()))
                kernel.state.withLock { $0.reason = nil }
                logger.info("kernel restarted in place", metadata: ["kernel_id": "\(id)"])
                return kernel.model()
            } catch {
                logger.warning("in-place restart failed, relaunching", metadata: ["kernel_id": "\(id)", "error": "\(error)"])
            }
        }
        if let process = kernel.process {
            await stopProcess(kernel, process: process, restart: true)
            await process.cleanUp()
        }
        kernel.connection?.resetIopubSeen(untilProbed: true)
        do {
            try await launch(kernel, reuse: kernel.connection?.info)
        } catch {
            if case .declareDead(let reason) = kernel.handle(.launchFailed(reason: error.description)) {
                await declareDead(kernel, reason: reason)
            }
            throw error
        }
        kernel.state.withLock { $0.reason = nil }
        logger.info("kernel restarted", metadata: ["kernel_id": "\(id)"])
        return kernel.model()
    }

    /// Shuts the kernel down (shutdown_request, then SIGTERM, then SIGKILL), closes its clients with a
    /// reason and forgets it.
    public func shutdown(_ id: String, reason: String = "Kernel shut down") async throws(GatewayError) {
        let kernel = try kernel(id)
        guard kernel.handle(.shutdownRequested) == .proceedWithShutdown else {
            // Someone else is shutting it down: wait for them.
            for _ in 0..<200 where kernels[id] != nil {
                try? await Task.sleep(for: .milliseconds(50))
            }
            return
        }
        await stop(kernel, reason: reason)
        kernels.removeValue(forKey: id)
        logger.info("kernel shut down", metadata: ["kernel_id": "\(id)", "reason": "\(reason)"])
    }

    private nonisolated func stop(_ kernel: ManagedKernel, reason: String) async {
        if let process = kernel.process {
            await stopProcess(kernel, process: process, restart: false)
            await process.cleanUp()
        }
        if let connection = kernel.connection {
            connection.closeAllClients(reason: reason)
            connection.disconnect()
        }
        _ = kernel.handle(.shutdownCompleted)
    }

    private nonisolated func stopProcess(_ kernel: ManagedKernel, process: any ProvisionedKernel, restart: Bool) async {
        if !process.hasExited, let connection = kernel.connection {
            let request = MessageFactory.make(msgType: "shutdown_request", content: ["restart": .bool(restart)],
                                              session: "gateway-\(kernel.id)")
            _ = try? await connection.request(request, channel: .control, timeout: configuration.shutdownGracePeriod)
            if !process.restartsInPlace {  // a supervised kernel is started again: terminate it right away
                _ = await withDeadline(configuration.shutdownGracePeriod) { await process.waitForExitOrCancellation() }
            }
        }
        await process.terminate(grace: configuration.shutdownGracePeriod)
    }

    /// Culls a kernel: clients see a `dead` status, then the kernel is shut down exactly like DELETE.
    public func cull(_ id: String, reason: String) async throws(GatewayError) {
        let kernel = try kernel(id)
        broadcastStatus(kernel, "dead")
        try await shutdown(id, reason: reason)
    }

    /// Whether `user` may start kernels of `spec` (global and kernelspec user lists combined).
    public nonisolated func allows(user: String?, spec: KernelSpec) -> Bool {
        configuration.limits.allows(user: user, spec: spec)
    }

    /// Stops every kernel (gateway shutdown).
    public func shutdownAll() async {
        ready = false
        let ids = Array(kernels.keys)
        logger.info("stopping all kernels", metadata: ["count": "\(ids.count)"])
        await withTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask { try? await self.shutdown(id, reason: "The gateway is shutting down") }
            }
        }
    }
}
