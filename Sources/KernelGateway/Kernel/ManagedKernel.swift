import Foundation
import JupyterProtocol
import KubernetesRuntime
import Synchronization

/// One kernel the gateway manages: its kernelspec, its lifecycle, its current process and its relay.
/// Thread-safe: the relay updates activity from the reactor thread, the manager drives the lifecycle.
public final class ManagedKernel: Sendable {
    /// The kernel id, kept across restarts.
    public let id: String
    /// The kernelspec it was started from.
    public let spec: KernelSpec
    /// `KERNEL_USERNAME` of the start request, if any.
    public let user: String?
    /// What was used to launch it (reused for restarts).
    public let launchContext: LaunchContext
    /// When it was created.
    public let createdAt: Date
    let state: Mutex<State>

    struct State {
        var lifecycle: KernelLifecycle
        var process: (any ProvisionedKernel)?
        var connection: KernelConnection?
        var reportedState = "starting"
        var lastActivity: Date
        /// Opened when the kernel reports a state other than `busy` (see ``waitUntilNotBusy(timeout:)``).
        var notBusy: Gate?
        /// Seconds idle and busy, for a kernel that requests a GPU (else nil).
        var gpuTime: ExecutionTimeLedger?

        /// Moves the GPU ledger to the execution state clients see now.
        mutating func noteExecutionState() {
            guard gpuTime != nil else { return }
            gpuTime?.enter(lifecycle.executionState(reported: reportedState), now: .now)
        }
    }

    /// - Parameters:
    ///   - now: When it was created (for an adopted kernel: when its pod was).
    ///   - lastActivity: Its last activity, if known from before (an adopted kernel's pod annotation); else `now`.
    init(launchContext: LaunchContext, lifecycle: KernelLifecycle, now: Date, lastActivity: Date? = nil) {
        self.id = launchContext.kernelID
        self.spec = launchContext.spec
        self.user = launchContext.user
        self.launchContext = launchContext
        self.createdAt = now
        var state = State(lifecycle: lifecycle, lastActivity: lastActivity ?? now)
        if KernelGPURequest.requested(by: launchContext) { state.gpuTime = ExecutionTimeLedger(now: .now) }
        self.state = Mutex(state)
    }

    /// Whether the kernel requests a GPU (its idle and busy seconds are counted).
    public var requestsGPU: Bool { state.withLock { $0.gpuTime != nil } }

    /// Adds the seconds this GPU kernel spent idle and busy since the last call to `metrics`.
    func takeGPUSeconds(into metrics: GatewayMetrics) {
        let taken = state.withLock { state -> (idle: Double, busy: Double)? in
            state.noteExecutionState()
            return state.gpuTime?.take(now: .now)
        }
        if let taken { metrics.gpuSeconds(idle: taken.idle, busy: taken.busy) }
    }

    /// The REST model.
    public func model() -> KernelModel {
        state.withLock { state in
            KernelModel(
                id: id, name: spec.name, lastActivity: state.lastActivity,
                executionState: state.lifecycle.executionState(reported: state.reportedState),
                connections: state.connection?.clientCount ?? 0,
                reason: state.lifecycle.reason, user: user)
        }
    }

    /// Whether the kernel's last iopub `status` said `busy`.
    public var reportsBusy: Bool { state.withLock { $0.reportedState == "busy" } }

    /// The current lifecycle phase.
    public var phase: KernelPhase { state.withLock { $0.lifecycle.phase } }

    /// The relay, once connected.
    public var connection: KernelConnection? { state.withLock { $0.connection } }

    /// The current process (or pod), if any.
    public var process: (any ProvisionedKernel)? { state.withLock { $0.process } }

    /// Feeds an event into the lifecycle.
    func handle(_ event: KernelLifecycle.Event) -> KernelLifecycle.Action {
        state.withLock { state in
            let action = state.lifecycle.handle(event)
            state.noteExecutionState()
            return action
        }
    }

    /// Restarts of any kind since the kernel was first started.
    public var restarts: Int { state.withLock { $0.lifecycle.restarts } }

    /// Returns once the kernel's last reported state is not `busy`, or after `timeout`.
    func waitUntilNotBusy(timeout: Duration) async {
        let gate: Gate? = state.withLock { state in
            guard state.reportedState == "busy" else { return nil }
            if state.notBusy == nil { state.notBusy = Gate() }
            return state.notBusy
        }
        guard let gate else { return }
        _ = await withDeadline(timeout) { try? await gate.wait() }
    }

    /// Records a message from the kernel (called on the reactor thread): iopub `status` sets the
    /// execution state; output caused by a user-driven request is activity (see `ActivityModel`).
    func recordKernelMessage(channel: KernelChannel, peek: MessagePeek, parentType: String?, now: Date) {
        let isStatus = channel == .iopub && peek.msgType == "status"
        let isActivity = ActivityModel.isActivity(kernelMessageParentType: parentType)
        guard isStatus || isActivity else { return }
        let released: Gate? = state.withLock { state in
            if isActivity { state.lastActivity = now }
            guard isStatus, let executionState = peek.executionState else { return nil }
            state.reportedState = executionState
            state.noteExecutionState()
            guard executionState != "busy", let gate = state.notBusy else { return nil }
            state.notBusy = nil
            return gate
        }
        released?.open()
    }

    /// Records a client's message: user-driven requests are activity.
    func recordClientMessage(peek: MessagePeek, now: Date) {
        guard ActivityModel.isActivity(clientMessageType: peek.msgType) else { return }
        recordActivity(now: now)
    }

    /// Marks the kernel as used now (also for REST interrupt / restart).
    /// Raises the last activity to `date` when another replica (or an earlier process) recorded later use.
    func noteSharedActivity(_ date: Date) {
        state.withLock { $0.lastActivity = max($0.lastActivity, date) }
    }

    func recordActivity(now: Date) {
        state.withLock { $0.lastActivity = now }
    }

    /// What the culler needs to know.
    public func cullCandidate() -> CullCandidate {
        state.withLock { state in
            CullCandidate(
                phase: state.lifecycle.phase,
                executionState: state.lifecycle.executionState(reported: state.reportedState),
                connections: state.connection?.clientCount ?? 0,
                lastActivity: state.lastActivity, createdAt: createdAt)
        }
    }
}
