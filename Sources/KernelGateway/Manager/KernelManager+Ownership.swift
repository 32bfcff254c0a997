/// Ownership: a kernel belongs to its `KERNEL_USERNAME` (for a non-admin's start, always the requester's name). A
/// requester who may not see a kernel gets exactly the error of an id that does not exist.
extension KernelManager {
    /// A kernel by id, if `requester` may see it.
    /// - Throws: ``GatewayError/noSuchKernel(id:)`` when it does not exist or belongs to someone else.
    public func kernel(_ id: String, visibleTo requester: UserIdentity) throws(GatewayError) -> ManagedKernel {
        let kernel = try kernel(id)
        guard requester.canAccess(ownedBy: kernel.user) else { throw .noSuchKernel(id: id) }
        return kernel
    }

    /// Interrupts a kernel `requester` may see (see ``interrupt(_:)``).
    public func interrupt(_ id: String, as requester: UserIdentity) async throws(GatewayError) {
        _ = try kernel(id, visibleTo: requester)
        try await interrupt(id)
    }

    /// Restarts a kernel `requester` may see (see ``restart(_:)``).
    public func restart(_ id: String, as requester: UserIdentity) async throws(GatewayError) -> KernelModel {
        _ = try kernel(id, visibleTo: requester)
        return try await restart(id)
    }

    /// Shuts down a kernel `requester` may see (see ``shutdown(_:reason:)``).
    public func shutdown(_ id: String, as requester: UserIdentity, reason: String) async throws(GatewayError) {
        _ = try kernel(id, visibleTo: requester)
        try await shutdown(id, reason: reason)
    }

    /// The start's environment as far as its owner goes: a non-admin's claimed `KERNEL_USERNAME` is dropped (their
    /// name replaces it), and a different claim is logged, once per user and claimed name.
    func ownedEnvironment(_ environment: [String: String], requester: UserIdentity) -> [String: String] {
        guard !requester.isAdmin, let name = requester.name else { return environment }
        var environment = environment
        if let claimed = environment.removeValue(forKey: "KERNEL_USERNAME"), claimed != name,
           claimLog.insert("\(name)\u{0}\(claimed)") {
            logger.notice("ignoring the KERNEL_USERNAME a user claimed: their kernels are theirs", metadata: [
                "user": "\(name)", "claimed": "\(claimed.prefix(64))",
            ])
        }
        return environment
    }
}
