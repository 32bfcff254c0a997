import Foundation

/// Where a kernel is in its life.
public enum KernelPhase: Sendable, Equatable {
    /// Launched, not yet answering.
    case starting
    /// Answering; its execution state comes from iopub `status`.
    case running
    /// Being restarted: automatically after an unexpected death, or on request.
    case restarting(automatic: Bool)
    /// Being shut down.
    case shuttingDown
    /// Gone and not coming back by itself (auto-restart off or exhausted); a manual restart may revive it.
    case dead(reason: String)
    /// Shut down; no longer listed.
    case terminated
}

/// The kernel lifecycle state machine: a pure value that turns events into the next phase and the
/// action the manager must take. Unit-tested on its own.
public struct KernelLifecycle: Sendable, Equatable {
    /// The current phase.
    public private(set) var phase: KernelPhase = .starting
    /// Generation of the current kernel process; bumped on every (re)launch so that the exit of an
    /// old process is told apart from the death of the current one.
    public private(set) var generation = 0
    /// Automatic restarts since the kernel last ran stably.
    public private(set) var automaticRestarts = 0
    /// Whether to restart after an unexpected death.
    public let autoRestart: Bool
    /// Automatic restarts allowed before the kernel is declared dead.
    public let maxAutomaticRestarts: Int
    /// A process that lived this long resets the automatic-restart count.
    public let stableRunTime: TimeInterval
    private var runningSince: Date?

    /// Events the manager feeds in.
    public enum Event: Sendable, Equatable {
        /// A new process was launched; returns its generation through `generation`.
        case launched
        /// The current process answered `kernel_info_request`.
        case ready(at: Date)
        /// The process of a given generation is gone.
        case processExited(generation: Int, at: Date, description: String)
        /// A client asked for a restart.
        case restartRequested
        /// A (re)launch failed.
        case launchFailed(reason: String)
        /// A client (or the culler, or gateway shutdown) asked for shutdown.
        case shutdownRequested
        /// Shutdown completed.
        case shutdownCompleted
    }

    /// What the manager must do after an event.
    public enum Action: Sendable, Equatable {
        case none
        /// Relaunch the kernel automatically (announce `restarting` to clients first).
        case restartAutomatically
        /// Declare the kernel dead (announce `dead` to clients, release the process).
        case declareDead(reason: String)
        /// Proceed with the requested restart.
        case proceedWithRestart
        /// Proceed with the requested shutdown.
        case proceedWithShutdown
        /// The request is not possible in this phase.
        case reject(reason: String)
        /// The initial start failed: remove the kernel.
        case abandonStart(reason: String)
    }

    /// Creates the machine for a kernel that is about to be launched.
    public init(autoRestart: Bool, maxAutomaticRestarts: Int, stableRunTime: TimeInterval = 10) {
        self.autoRestart = autoRestart
        self.maxAutomaticRestarts = maxAutomaticRestarts
        self.stableRunTime = stableRunTime
    }

    /// Applies an event.
    public mutating func handle(_ event: Event) -> Action {
        switch (phase, event) {
        case (.terminated, _):
            return .reject(reason: "terminated")
        case (_, .shutdownRequested):
            if phase == .shuttingDown { return .reject(reason: "already shutting down") }
            phase = .shuttingDown
            return .proceedWithShutdown
        case (.shuttingDown, .shutdownCompleted):
            phase = .terminated
            return .none
        case (.shuttingDown, _):
            return .reject(reason: "shutting down")
        case (_, .launched):
            generation += 1
            runningSince = nil
            return .none
        case (.starting, .ready(let at)), (.restarting, .ready(let at)):
            phase = .running
            runningSince = at
            return .none
        case (.starting, .launchFailed(let reason)):
            phase = .terminated
            return .abandonStart(reason: reason)
        case (.restarting(automatic: true), .launchFailed(let reason)):
            automaticRestarts += 1
            if automaticRestarts > maxAutomaticRestarts {
                phase = .dead(reason: "Kernel restart failed \(automaticRestarts) times: \(reason)")
                return .declareDead(reason: "Kernel restart failed \(automaticRestarts) times: \(reason)")
            }
            return .restartAutomatically
        case (.restarting(automatic: false), .launchFailed(let reason)):
            phase = .dead(reason: "Kernel restart failed: \(reason)")
            return .declareDead(reason: "Kernel restart failed: \(reason)")
        case (_, .processExited(let exitedGeneration, let at, let description)):
            guard exitedGeneration == generation else { return .none }
            switch phase {
            case .running, .starting:
                if phase == .starting { return .none }  // the starting path sees the exit itself
                if let since = runningSince, at.timeIntervalSince(since) >= stableRunTime { automaticRestarts = 0 }
                guard autoRestart else {
                    phase = .dead(reason: "Kernel died: \(description)")
                    return .declareDead(reason: "Kernel died: \(description)")
                }
                automaticRestarts += 1
                if automaticRestarts > maxAutomaticRestarts {
                    phase = .dead(reason: "Kernel died \(automaticRestarts) times: \(description)")
                    return .declareDead(reason: "Kernel died \(automaticRestarts) times: \(description)")
                }
                phase = .restarting(automatic: true)
                return .restartAutomatically
            default:
                return .none
            }
        case (.running, .restartRequested), (.dead, .restartRequested):
            phase = .restarting(automatic: false)
            return .proceedWithRestart
        case (.starting, .restartRequested), (.restarting, .restartRequested):
            return .reject(reason: phase == .starting ? "starting" : "restarting")
        default:
            return .none
        }
    }

    /// The `execution_state` clients see for this phase, given the kernel's last reported state.
    public func executionState(reported: String) -> String {
        switch phase {
        case .starting: return "starting"
        case .running: return reported == "starting" ? "idle" : reported
        case .restarting: return "restarting"
        case .shuttingDown: return "terminating"
        case .dead, .terminated: return "dead"
        }
    }
}
