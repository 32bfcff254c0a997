import Foundation
import JupyterProtocol
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
        var reason: String?
    }

    init(launchContext: LaunchContext, lifecycle: KernelLifecycle, now: Date) {
        self.id = launchContext.kernelID
        self.spec = launchContext.spec
        self.user = launchContext.user
        self.launchContext = launchContext
        self.createdAt = now
        self.state = Mutex(State(lifecycle: lifecycle, lastActivity: now))
    }

    /// The REST model.
    public func model() -> KernelModel {
        state.withLock { state in
            KernelModel(
                id: id, name: spec.name, lastActivity: state.lastActivity,
                executionState: state.lifecycle.executionState(reported: state.reportedState),
                connections: state.connection?.clientCount ?? 0,
                reason: state.reason, user: user)
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
        state.withLock { $0.lifecycle.handle(event) }
    }

    /// Records a message from the kernel (called on the reactor thread): iopub `status` sets the
    /// execution state; output caused by a user-driven request is activity (see `ActivityModel`).
    func recordKernelMessage(channel: KernelChannel, peek: MessagePeek, parentType: String?, now: Date) {
        let isStatus = channel == .iopub && peek.msgType == "status"
        let isActivity = ActivityModel.isActivity(kernelMessageParentType: parentType)
        guard isStatus || isActivity else { return }
        state.withLock { state in
            if isActivity { state.lastActivity = now }
            if isStatus, let executionState = peek.executionState {
                state.reportedState = executionState
            }
        }
    }

    /// Records a client's message: user-driven requests are activity.
    func recordClientMessage(peek: MessagePeek, now: Date) {
        guard ActivityModel.isActivity(clientMessageType: peek.msgType) else { return }
        recordActivity(now: now)
    }

    /// Marks the kernel as used now (also for REST interrupt / restart).
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
