import Foundation
import JupyterProtocol
import KubernetesRuntime
import Logging
import ZeroMQ

/// What every kernel's supervisor shares with the manager.
struct SupervisorContext: Sendable {
    let provisioner: any Provisioner
    let configuration: KernelManagerConfiguration
    let reactor: ZMQReactor
    let logger: Logger
    let memory: MemoryBudget
    let now: @Sendable () -> Date
    /// Where starts, restarts and GPU time are counted.
    let metrics: GatewayMetrics
    /// Runs background work (a process's exit watch) as a child of the manager's `run()`.
    let spawn: @Sendable (@escaping @Sendable () async -> Void) -> Void
}

/// Owns one kernel's life: launch (or adoption) and readiness, death and automatic restart, requested
/// restarts, interrupts and the three ways out (shutdown, culling, letting go when the gateway stops).
/// Every decision goes through the kernel's ``KernelLifecycle``; the manager only admits and lists kernels.
final class KernelSupervisor: Sendable {
    /// The kernel supervised.
    let kernel: ManagedKernel
    let context: SupervisorContext
    /// Opened once a shutdown, cull or detach is requested: starts and readiness waits stop at once.
    let stopRequested = Gate()
    /// Opened once the kernel is terminated (shut down, culled or let go).
    let finished = Gate()
    /// Opened once an adoption has an outcome: the kernel answers, or it took the failure path.
    let settled = Gate()

    var id: String { kernel.id }
    var logger: Logger { context.logger }

    init(kernel: ManagedKernel, context: SupervisorContext) {
        self.kernel = kernel
        self.context = context
    }

    // MARK: Start and adoption

    /// Launches the kernel and returns once it answers; on failure the kernel is terminated. Counted (and timed)
    /// in the metrics by provisioner.
    func start() async throws(GatewayError) {
        let began = ContinuousClock.now
        do {
            try await bringUp(reuse: nil) { [provisioner = context.provisioner] launchContext throws(ProvisionerError) in
                try await provisioner.launch(launchContext)
            }
        } catch {
            context.metrics.kernelStartFailed(provisioner: kernel.spec.provisioner, error: error)
            if case .abandonStart = kernel.handle(.launchFailed(Self.startFailure(error))) { finished.open() }
            throw error
        }
        context.metrics.kernelStarted(provisioner: kernel.spec.provisioner, after: ContinuousClock.now - began)
    }

    /// Serves a kernel found running: waits for its pod, connects and probes it. A kernel that does not answer
    /// takes the path of one that died (automatic restart or dead).
    func adopt(_ resume: @escaping @Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel) async {
        defer { settled.open() }
        do {
            try await bringUp(reuse: nil) { launchContext throws(ProvisionerError) in
                try await resume(launchContext.launchTimeout)
            }
            logger.info("kernel adopted", metadata: ["kernel_id": "\(id)", "kernelspec": "\(kernel.spec.name)"])
        } catch {
            logger.warning("adopted kernel does not answer", metadata: ["kernel_id": "\(id)", "error": "\(error)"])
            await act(on: kernel.handle(.launchFailed(Self.startFailure(error))))
        }
    }

    static func startFailure(_ error: GatewayError) -> StartFailure {
        if case .launchFailed(let failure) = error { return failure }
        return .provisioner(error.description)
    }

    /// Provisions a process (or pod), connects the relay to it and waits until it is ready. The provisioning is
    /// abandoned (and cleaned up by the provisioner) when the kernel is shut down meanwhile.
    func bringUp(reuse: ConnectionInfo?,
                 provision: @escaping @Sendable (LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel) async throws(GatewayError) {
        var launchContext = kernel.launchContext
        launchContext.reuseConnection = reuse
        launchContext.launchTimeout = launchTimeout
        let request = launchContext
        enum Outcome: Sendable { case provisioned(any ProvisionedKernel), failed(ProvisionerError), stopped }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do throws(ProvisionerError) { return .provisioned(try await provision(request)) } catch { return .failed(error) }
            }
            group.addTask { [stopRequested] in
                try? await stopRequested.wait()
                return .stopped
            }
            let first = await group.next() ?? .stopped
            group.cancelAll()
            return first
        }
        let provisioned: any ProvisionedKernel
        switch outcome {
        case .provisioned(let value): provisioned = value
        case .failed(.refused(let refusal)): throw refusal
        case .failed(let error): throw .launchFailed(error.startFailure)
        case .stopped: throw .launchFailed(.stoppedWhileStarting)
        }
        let connection: KernelConnection
        do {
            connection = try await connectRelay(to: provisioned)
        } catch {
            await provisioned.terminate(grace: .seconds(1))
            await provisioned.cleanUp()
            throw error
        }
        let generation: Int = kernel.state.withLock { state in
            _ = state.lifecycle.handle(.launched)
            state.process = provisioned
            state.connection = connection
            state.reportedState = "starting"
            state.noteExecutionState()
            return state.lifecycle.generation
        }
        context.spawn { [self] in
            let exit = await provisioned.waitForExit()
            await self.processExited(generation: generation, exit: exit)
        }
        do {
            try await waitUntilReady(connection: connection, process: provisioned, timeout: launchContext.launchTimeout)
        } catch {
            await provisioned.terminate(grace: .seconds(1))
            await provisioned.cleanUp()
            if reuse == nil {
                connection.disconnect()
                kernel.state.withLock { $0.connection = nil }
            }
            throw error
        }
        _ = kernel.handle(.ready(at: context.now()))
    }

    /// The relay to `provisioned`: the kernel's existing one (re-pointed when the address changed), or a new one.
    private func connectRelay(to provisioned: any ProvisionedKernel) async throws(GatewayError) -> KernelConnection {
        if let existing = kernel.connection {
            if existing.info != provisioned.connectionInfo { try await existing.reconnect(to: provisioned.connectionInfo) }
            return existing
        }
        let (kernel, now) = (self.kernel, context.now)
        let connection = try KernelConnection(
            kernelID: id, info: provisioned.connectionInfo, reactor: context.reactor, configuration: context.configuration,
            logger: logger, memory: context.memory.account(kernelID: id),
            onClientMessage: { peek in kernel.recordClientMessage(peek: peek, now: now()) },
            keepsRecentIopub: provisioned.outlivesGateway,
            sessionCursor: { session in kernel.process?.iopubCursor(forSession: session) },
            onKernelMessage: { channel, peek, parentType in
                kernel.recordKernelMessage(channel: channel, peek: peek, parentType: parentType, now: now())
            })
        try await connection.connect()
        return connection
    }

    /// Waits until the kernel answers (see ``KernelConnection/waitUntilReady(process:timeout:stopped:)``), then
    /// (at most 2 s: a loaded machine delays it) for the `idle` that follows the probe's `busy`, so that the model
    /// a start answers with says `idle`. Nobody else has the kernel's id before a start answers, and during a
    /// restart clients' messages are held until the kernel is ready.
    func waitUntilReady(connection: KernelConnection, process: any ProvisionedKernel, timeout: Duration) async throws(GatewayError) {
        switch await connection.waitUntilReady(process: process, timeout: timeout, stopped: stopRequested) {
        case .ready: await kernel.waitUntilNotBusy(timeout: .seconds(2))
        case .ended(let exit): throw .launchFailed(.ended(exit))
        case .timedOut: throw .launchFailed(.timedOut(timeout))
        case .stopped: throw .launchFailed(.stoppedWhileStarting)
        }
    }

    /// The gateway's launch timeout, or the client's `KERNEL_LAUNCH_TIMEOUT` when that is lower. The value was
    /// checked when the start was requested; should it be unusable anyway, the maximum applies.
    var launchTimeout: Duration {
        let maximum = context.configuration.launchTimeout
        return (try? LaunchTimeout.resolve(kernel.launchContext.environment, maximum: maximum)) ?? maximum
    }
}
