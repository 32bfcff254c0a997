import Synchronization

/// What the probes report: leadership and cache sync of the current term.
public final class HealthState: Sendable {
    private struct State {
        var electing = false
        var leading = false
        var synced = false
    }

    private let state = Mutex(State())

    /// Creates a state.
    /// - Parameter electing: Whether this instance campaigns for a lease (a standby is ready).
    public init(electing: Bool) {
        state.withLock { $0.electing = electing }
    }

    /// Records leadership.
    public func setLeading(_ leading: Bool) {
        state.withLock {
            $0.leading = leading
            if !leading { $0.synced = false }
        }
    }

    /// Records whether the caches of the current term have synced.
    public func setSynced(_ synced: Bool) {
        state.withLock { $0.synced = synced }
    }

    /// Ready: a standby, or a leader whose caches have synced.
    public var isReady: Bool {
        state.withLock { ($0.electing && !$0.leading) || ($0.leading && $0.synced) }
    }
}
