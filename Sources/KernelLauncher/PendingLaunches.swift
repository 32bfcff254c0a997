import Synchronization

/// The launches waiting for their launcher's connection info. A response is accepted only for a waiting launch with
/// its kernel id, from the kernel's address, once, before the launch's deadline; anything else is refused with a
/// ``LaunchDelivery`` reason and leaves the launch waiting.
public final class PendingLaunches: Sendable {
    /// Most launches waiting at once.
    public let capacity: Int
    /// Responses held per launch while its kernel's address is not known yet (one per sending address).
    static let heldPerLaunch = 4

    private struct Entry {
        var token: UInt64
        var peer: String?
        var deadline: ContinuousClock.Instant
        var response: LauncherResponse?
        var waiter: CheckedContinuation<LauncherResponse?, Never>?
        var held: [String: LauncherResponse] = [:]
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var nextToken: UInt64 = 1
    }

    private let state = Mutex(State())

    /// Creates an empty registry.
    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// Registers a launch: from now until `deadline` a response for `kernelID` from `fromAddress` (the kernel pod's
    /// IP; `nil` when not known yet, see ``PendingLaunch/expectPeer(_:)``) is accepted once.
    /// - Throws: ``LaunchWaitError/alreadyPending(_:)`` while another launch of that kernel id waits;
    ///   ``LaunchWaitError/tooManyPending(_:)`` beyond ``capacity``.
    public func expect(kernelID: String, fromAddress: String?, deadline: ContinuousClock.Instant)
        throws(LaunchWaitError) -> PendingLaunch
    {
        let now = ContinuousClock.now
        let result: Result<UInt64, LaunchWaitError> = state.withLock { state in
            if let existing = state.entries[kernelID], existing.response == nil, existing.deadline > now {
                return .failure(.alreadyPending(kernelID))
            }
            if state.entries[kernelID] == nil, state.entries.count >= capacity {
                // Launches whose callers never withdrew them and whose deadline passed make room first.
                for (id, entry) in state.entries where entry.deadline <= now {
                    entry.waiter?.resume(returning: nil)
                    state.entries[id] = nil
                }
                if state.entries.count >= capacity { return .failure(.tooManyPending(capacity)) }
            }
            let token = state.nextToken
            state.nextToken += 1
            state.entries[kernelID]?.waiter?.resume(returning: nil)
            state.entries[kernelID] = Entry(token: token, peer: fromAddress.map(PeerAddress.normalize), deadline: deadline)
            return .success(token)
        }
        switch result {
        case .success(let token): return PendingLaunch(kernelID: kernelID, token: token, deadline: deadline, registry: self)
        case .failure(let error): throw error
        }
    }

    /// The number of registered launches (waiting or answered, not yet withdrawn).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Offers a decoded response that arrived from `peer`.
    public func deliver(_ response: LauncherResponse, from peer: String, now: ContinuousClock.Instant = .now) -> LaunchDelivery {
        let peer = PeerAddress.normalize(peer)
        let (outcome, waiter) = state.withLock { state -> (LaunchDelivery, CheckedContinuation<LauncherResponse?, Never>?) in
            guard var entry = state.entries[response.kernelID] else { return (.unknownKernel, nil) }
            guard now < entry.deadline else { return (.expired, nil) }
            guard entry.response == nil else { return (.duplicate, nil) }
            guard let expected = entry.peer else {
                guard entry.held[peer] == nil else { return (.duplicate, nil) }
                guard entry.held.count < Self.heldPerLaunch else { return (.wrongPeer, nil) }
                entry.held[peer] = response
                state.entries[response.kernelID] = entry
                return (.held, nil)
            }
            guard expected == peer else { return (.wrongPeer, nil) }
            entry.response = response
            let waiter = entry.waiter
            entry.waiter = nil
            state.entries[response.kernelID] = entry
            return (.accepted, waiter)
        }
        waiter?.resume(returning: response)
        return outcome
    }

    func expectPeer(_ address: String, kernelID: String, token: UInt64) {
        let peer = PeerAddress.normalize(address)
        let delivered: (LauncherResponse, CheckedContinuation<LauncherResponse?, Never>?)? = state.withLock { state in
            guard var entry = state.entries[kernelID], entry.token == token, entry.peer == nil else { return nil }
            entry.peer = peer
            let early = entry.held[peer]
            entry.held = [:]
            var waiter: CheckedContinuation<LauncherResponse?, Never>?
            if let early, ContinuousClock.now < entry.deadline {
                entry.response = early
                waiter = entry.waiter
                entry.waiter = nil
            }
            state.entries[kernelID] = entry
            return entry.response.map { ($0, waiter) }
        }
        if let (response, waiter) = delivered { waiter?.resume(returning: response) }
    }

    /// Waits for the response; `nil` when cancelled or withdrawn.
    func wait(kernelID: String, token: UInt64) async -> LauncherResponse? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<LauncherResponse?, Never>) in
                let immediate: LauncherResponse?? = state.withLock { state in
                    guard var entry = state.entries[kernelID], entry.token == token, entry.waiter == nil else { return .some(nil) }
                    if let response = entry.response { return .some(response) }
                    // Checked under the lock: a cancellation after this point finds the continuation stored.
                    if Task.isCancelled { return .some(nil) }
                    entry.waiter = continuation
                    state.entries[kernelID] = entry
                    return .none
                }
                if case .some(let value) = immediate { continuation.resume(returning: value) }
            }
        } onCancel: {
            takeWaiter(kernelID: kernelID, token: token)?.resume(returning: nil)
        }
    }

    /// The response already received, if any.
    func received(kernelID: String, token: UInt64) -> LauncherResponse? {
        state.withLock { state in state.entries[kernelID].flatMap { $0.token == token ? $0.response : nil } }
    }

    func withdraw(kernelID: String, token: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<LauncherResponse?, Never>? in
            guard let entry = state.entries[kernelID], entry.token == token else { return nil }
            state.entries[kernelID] = nil
            return entry.waiter
        }
        waiter?.resume(returning: nil)
    }

    private func takeWaiter(kernelID: String, token: UInt64) -> CheckedContinuation<LauncherResponse?, Never>? {
        state.withLock { state in
            guard var entry = state.entries[kernelID], entry.token == token else { return nil }
            let waiter = entry.waiter
            entry.waiter = nil
            state.entries[kernelID] = entry
            return waiter
        }
    }
}
