import ElasticJupyterContract
import Foundation
import JupyterProtocol

/// Global culling settings (EG's names where EG has them).
public struct CullConfiguration: Sendable, Equatable {
    /// Idle seconds after which a kernel is culled; zero = never (EG_CULL_IDLE_TIMEOUT).
    public var idleTimeout: TimeInterval
    /// Seconds between culling passes (EG_CULL_INTERVAL).
    public var interval: TimeInterval
    /// Cull kernels with open WebSockets too (EG_CULL_CONNECTED).
    public var cullConnected: Bool
    /// Cull kernels that are busy too.
    public var cullBusy: Bool
    /// Cull any kernel older than this many seconds, even active; zero = never (as JupyterHub's culler).
    public var maxAge: TimeInterval

    /// Creates a configuration; culling is off by default.
    public init(idleTimeout: TimeInterval = 0, interval: TimeInterval = 60, cullConnected: Bool = false,
                cullBusy: Bool = false, maxAge: TimeInterval = 0) {
        self.idleTimeout = idleTimeout
        self.interval = interval
        self.cullConnected = cullConnected
        self.cullBusy = cullBusy
        self.maxAge = maxAge
    }

    /// The settings for one kernelspec: `metadata.elastic_jupyter.cull_idle_timeout` and `cull_max_age` (seconds),
    /// `cull_connected` and `cull_busy` in its kernel.json override the global ones.
    public func applying(overridesOf spec: KernelSpec) -> CullConfiguration {
        guard case .object(let ours)? = spec.metadata[KernelSpecMetadata.section] else { return self }
        var result = self
        if let timeout = ours[KernelSpecMetadata.cullIdleTimeout]?.doubleValue, timeout >= 0 { result.idleTimeout = timeout }
        if let connected = ours[KernelSpecMetadata.cullConnected]?.boolValue { result.cullConnected = connected }
        if let busy = ours[KernelSpecMetadata.cullBusy]?.boolValue { result.cullBusy = busy }
        if let maxAge = ours[KernelSpecMetadata.cullMaxAge]?.doubleValue, maxAge >= 0, maxAge <= 31_536_000 { result.maxAge = maxAge }
        return result
    }
}

/// What the culler knows about one kernel at one instant.
public struct CullCandidate: Sendable, Equatable {
    /// The kernel's lifecycle phase: only `running` and `dead` kernels can be culled.
    public var phase: KernelPhase
    /// The last `execution_state` the kernel reported (`busy` kernels are kept unless `cull_busy`).
    public var executionState: String
    /// WebSocket clients attached to the kernel on this replica (kept unless `cull_connected`).
    public var connections: Int
    /// The last activity: a message in either direction, or one another replica recorded on the pod.
    public var lastActivity: Date
    /// When the kernel was started (for the maximum age).
    public var createdAt: Date

    /// Creates a snapshot of one kernel; see the properties.
    public init(phase: KernelPhase, executionState: String, connections: Int, lastActivity: Date, createdAt: Date) {
        self.phase = phase
        self.executionState = executionState
        self.connections = connections
        self.lastActivity = lastActivity
        self.createdAt = createdAt
    }
}

/// The culling decision, a pure function of the settings, the kernel and the time.
public enum CullPolicy {
    /// The outcome for one kernel.
    public enum Decision: Sendable, Equatable {
        /// Leave the kernel alone this round.
        case keep
        /// Shut the kernel down; `reason` (its kind, and idle for how long or how old) goes to the log, the metrics
        /// and its clients.
        case cull(reason: CullReason)
    }

    /// Decides whether to cull. Kernels that are starting, restarting or shutting down are never culled.
    public static func decide(_ kernel: CullCandidate, configuration: CullConfiguration, now: Date) -> Decision {
        switch kernel.phase {
        case .starting, .adopted, .restarting, .culling, .shuttingDown, .detaching, .terminated: return .keep
        case .running, .dead: break
        }
        if configuration.maxAge > 0 {
            let age = now.timeIntervalSince(kernel.createdAt)
            if age >= configuration.maxAge {
                return .cull(reason: CullReason(
                    kind: .maxAge, detail: "older than the maximum age of \(format(configuration.maxAge)) (age \(format(age)))"))
            }
        }
        guard configuration.idleTimeout > 0 else { return .keep }
        if kernel.connections > 0 && !configuration.cullConnected { return .keep }
        if kernel.executionState == "busy" && !configuration.cullBusy { return .keep }
        let idle = now.timeIntervalSince(kernel.lastActivity)
        guard idle >= configuration.idleTimeout else { return .keep }
        let kind: CullReason.Kind
        if case .dead = kernel.phase { kind = .dead }
        else if kernel.executionState == "busy" { kind = .idleBusy }
        else if kernel.connections > 0 { kind = .idleConnected }
        else { kind = .idle }
        return .cull(reason: CullReason(
            kind: kind,
            detail: "idle for \(format(idle)) (timeout \(format(configuration.idleTimeout)), \(kernel.connections) connection(s), \(kernel.executionState))"))
    }

    static func format(_ seconds: TimeInterval) -> String {
        String(format: "%.1fs", seconds)
    }
}

/// Why a kernel is culled: a kind from a fixed set (for metrics) and the text the log and its clients see.
public struct CullReason: Sendable, Equatable, CustomStringConvertible {
    /// The kinds of culling.
    public enum Kind: String, Sendable, CaseIterable {
        /// Older than `--cull-max-age`, whatever its use.
        case maxAge = "max_age"
        /// Unused for `--cull-idle-timeout`, with no client attached.
        case idle
        /// Unused for the idle timeout while a client was attached (`--cull-connected`).
        case idleConnected = "idle_connected"
        /// Unused for the idle timeout while reported busy (`--cull-busy`).
        case idleBusy = "idle_busy"
        /// Dead (not restarted) and unused for the idle timeout.
        case dead
    }

    /// The kind.
    public var kind: Kind
    /// What happened, with the numbers.
    public var detail: String

    /// Creates a reason.
    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail }
}
