/// One launch waiting for its launcher's connection info (from ``PendingLaunches/expect(kernelID:fromAddress:deadline:)``).
/// Withdraw it with ``withdraw()`` once done (answered, failed or given up): until then a replay is refused as a
/// duplicate, afterwards as an unknown kernel id.
public struct PendingLaunch: Sendable {
    /// The kernel id the launch waits for.
    public let kernelID: String
    /// When the launch stops accepting a response.
    public let deadline: ContinuousClock.Instant
    let token: UInt64
    let registry: PendingLaunches

    init(kernelID: String, token: UInt64, deadline: ContinuousClock.Instant, registry: PendingLaunches) {
        self.kernelID = kernelID
        self.token = token
        self.deadline = deadline
        self.registry = registry
    }

    /// Sets the kernel's address once known (a pod gets its IP after it was created, and its launcher may answer
    /// before the gateway saw the IP): a response held from that address is accepted now, the others are dropped.
    /// Has no effect when the address was already given.
    public func expectPeer(_ address: String) {
        registry.expectPeer(address, kernelID: kernelID, token: token)
    }

    /// Waits for the accepted response until ``deadline``.
    /// - Throws: ``LaunchWaitError/timedOut`` at the deadline; ``LaunchWaitError/cancelled`` when the task is
    ///   cancelled or the launch withdrawn.
    public func response() async throws(LaunchWaitError) -> LauncherResponse {
        let (registry, kernelID, token, deadline) = (registry, kernelID, token, deadline)
        let first: LauncherResponse? = await withTaskGroup(of: LauncherResponse?.self) { group in
            group.addTask { await registry.wait(kernelID: kernelID, token: token) }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        // A response accepted just as the deadline fired still counts.
        if let response = first ?? registry.received(kernelID: kernelID, token: token) { return response }
        if Task.isCancelled || ContinuousClock.now < deadline { throw .cancelled }
        throw .timedOut
    }

    /// Removes the launch from the registry (a waiting ``response()`` ends with ``LaunchWaitError/cancelled``).
    public func withdraw() {
        registry.withdraw(kernelID: kernelID, token: token)
    }
}
