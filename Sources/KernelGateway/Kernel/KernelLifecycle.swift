import Foundation

/// Where a kernel is in its life.
public enum KernelPhase: Sendable, Equatable {
    /// Launched by this gateway, not yet answering.
    case starting
    /// Found running (started by an earlier gateway process or another replica), being probed.
    case adopted
    /// Answering; its execution state comes from iopub `status`.
    case running
    /// Being restarted: automatically after an unexpected death, or on request.
    case restarting(automatic: Bool)
    /// Being culled (idle too long): clients saw `dead`, the kernel is being shut down.
    case culling
    /// Being shut down.
    case shuttingDown
    /// Being let go: the gateway stops, the kernel (a pod) keeps running for the next gateway.
    case detaching
    /// Gone and not coming back by itself (auto-restart off or exhausted); a manual restart may revive it.
    case dead(reason: String)
    /// Shut down or let go; no longer listed.
    case terminated

    /// Whether the kernel is on its way out (shutdown, culling or detaching) or gone.
    public var isEnding: Bool {
        switch self {
        case .culling, .shuttingDown, .detaching, .terminated: return true
        default: return false
        }
    }
}

/// The kernel lifecycle state machine: a pure value that turns events into the next phase and the
/// action the supervisor must take. The only owner of the phase and of the reason clients are shown.
public struct KernelLifecycle: Sendable, Equatable {
    /// The current phase.
    public private(set) var phase: KernelPhase
    /// Why the kernel is restarting or dead (shown in its model); nil while it runs normally.
    public private(set) var reason: String?
    /// Generation of the current kernel process; bumped on every (re)launch so that the exit of an
    /// old process is told apart from the death of the current one.
    public private(set) var generation = 0
    /// Automatic restarts since the kernel last ran stably.
    public private(set) var automaticRestarts = 0
    /// Restarts of any kind since the kernel was first started (kept on its pod).
    public private(set) var restarts = 0
    /// Whether to restart after an unexpected death.
    public let autoRestart: Bool
    /// Automatic restarts allowed before the kernel is declared dead.
    public let maxAutomaticRestarts: Int
    /// A process that lived this long resets the automatic-restart count.
    public let stableRunTime: TimeInterval
    private var runningSince: Date?

    /// Events the supervisor feeds in.
    public enum Event: Sendable, Equatable {
        /// A new process was launched (or an adopted one connected): a new generation.
        case launched
        /// The current process answered `kernel_info_request`.
        case ready(at: Date)
        /// The process of a given generation is gone.
        case processExited(generation: Int, at: Date, description: String)
        /// A client asked for a restart.
        case restartRequested
        /// A (re)launch, or the probe of an adopted kernel, failed.
        case launchFailed(StartFailure)
        /// A client (or the gateway stopping with kernels it owns) asked for shutdown.
        case shutdownRequested
        /// The culler decided the kernel goes.
        case cullRequested
        /// The gateway stops and leaves the kernel running.
        case detachRequested
        /// Shutdown, culling or detaching completed.
        case shutdownCompleted
    }

    /// What the supervisor must do after an event.
    public enum Action: Sendable, Equatable {
        case none
        /// Relaunch the kernel automatically (announce `restarting` to clients first).
        case restartAutomatically
        /// Declare the kernel dead (announce `dead` to clients, release the process).
        case declareDead(reason: String)
        /// Proceed with the requested restart.
        case proceedWithRestart
        /// Proceed with the requested shutdown (also culling and detaching).
        case proceedWithShutdown
        /// The request is not possible in this phase.
        case reject(reason: String)
        /// The initial start failed: remove the kernel.
        case abandonStart(StartFailure)
    }

    /// Creates the machine for a kernel about to be launched, or (`adopting`) one found already running.
    public init(autoRestart: Bool, maxAutomaticRestarts: Int, stableRunTime: TimeInterval = 10,
                adopting: Bool = false, restarts: Int = 0) {
        self.autoRestart = autoRestart
        self.maxAutomaticRestarts = maxAutomaticRestarts
        self.stableRunTime = stableRunTime
        self.phase = adopting ? .adopted : .starting
        self.restarts = restarts
    }

    /// Applies an event.
    public mutating func handle(_ event: Event) -> Action {
        switch (phase, event) {
        case (.terminated, _):
            return .reject(reason: "terminated")
        case (_, .shutdownRequested), (_, .cullRequested), (_, .detachRequested):
            if phase.isEnding { return .reject(reason: "already shutting down") }
            phase = event == .cullRequested ? .culling : event == .detachRequested ? .detaching : .shuttingDown
            return .proceedWithShutdown
        case (.culling, .shutdownCompleted), (.shuttingDown, .shutdownCompleted), (.detaching, .shutdownCompleted):
            phase = .terminated
            return .none
        case (.culling, _), (.shuttingDown, _), (.detaching, _):
            return .reject(reason: "shutting down")
        case (_, .launched):
            generation += 1
            runningSince = nil
            return .none
        case (.starting, .ready(let at)), (.restarting, .ready(let at)), (.adopted, .ready(let at)):
            phase = .running
            reason = nil
            runningSince = at
            return .none
        case (.starting, .launchFailed(let failure)):
            phase = .terminated
            return .abandonStart(failure)
        case (.adopted, .launchFailed(let failure)):
            // An adopted kernel that does not answer takes the path of a kernel that died.
            return died(description: failure.description, at: nil)
        case (.restarting(automatic: true), .launchFailed(let failure)):
            automaticRestarts += 1
            if automaticRestarts > maxAutomaticRestarts {
                return dead("Kernel restart failed \(automaticRestarts) times: \(failure)")
            }
            return .restartAutomatically
        case (.restarting(automatic: false), .launchFailed(let failure)):
            return dead("Kernel restart failed: \(failure)")
        case (_, .processExited(let exitedGeneration, let at, let description)):
            guard exitedGeneration == generation, phase == .running else { return .none }  // starting: the start sees it
            return died(description: description, at: at)
        case (.running, .restartRequested), (.dead, .restartRequested):
            phase = .restarting(automatic: false)
            restarts += 1
            return .proceedWithRestart
        case (.starting, .restartRequested), (.adopted, .restartRequested), (.restarting, .restartRequested):
            return .reject(reason: phase == .restarting(automatic: false) || phase == .restarting(automatic: true) ? "restarting" : "starting")
        default:
            return .none
        }
    }

    /// The current process is gone unexpectedly: restart it automatically, or declare the kernel dead.
    private mutating func died(description: String, at: Date?) -> Action {
        if let since = runningSince, let at, at.timeIntervalSince(since) >= stableRunTime { automaticRestarts = 0 }
        guard autoRestart else { return dead("Kernel died: \(description)") }
        automaticRestarts += 1
        if automaticRestarts > maxAutomaticRestarts {
            return dead("Kernel died \(automaticRestarts) times: \(description)")
        }
        phase = .restarting(automatic: true)
        restarts += 1
        reason = "Kernel \(description)"
        return .restartAutomatically
    }

    private mutating func dead(_ text: String) -> Action {
        phase = .dead(reason: text)
        reason = text
        return .declareDead(reason: text)
    }

    /// The `execution_state` clients see for this phase, given the kernel's last reported state.
    public func executionState(reported: String) -> String {
        switch phase {
        case .starting, .adopted: return "starting"
        case .running: return reported == "starting" ? "idle" : reported
        case .restarting: return "restarting"
        case .shuttingDown, .detaching: return "terminating"
        case .culling, .dead, .terminated: return "dead"
        }
    }
}
