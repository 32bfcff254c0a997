/// Numeric limits and global user lists (EG_MAX_KERNELS, EG_MAX_KERNELS_PER_USER,
/// EG_AUTHORIZED_USERS, EG_UNAUTHORIZED_USERS).
public struct KernelLimits: Sendable, Equatable {
    /// Most kernels at once, starting ones included; zero = unlimited.
    public var maxKernels: Int
    /// Most kernels per `KERNEL_USERNAME`, starting ones included; zero = unlimited.
    public var maxKernelsPerUser: Int
    /// Users allowed to start kernels; nil = everyone. A kernelspec's own list replaces it (as EG).
    public var authorizedUsers: Set<String>?
    /// Users never allowed; united with a kernelspec's own list (as EG).
    public var unauthorizedUsers: Set<String>

    /// Creates limits; unlimited and open by default.
    public init(maxKernels: Int = 0, maxKernelsPerUser: Int = 0, authorizedUsers: Set<String>? = nil,
                unauthorizedUsers: Set<String> = []) {
        self.maxKernels = maxKernels
        self.maxKernelsPerUser = maxKernelsPerUser
        self.authorizedUsers = authorizedUsers
        self.unauthorizedUsers = unauthorizedUsers
    }

    /// Whether `user` may start kernels of `spec`, combining the global lists with the kernelspec's.
    public func allows(user: String?, spec: KernelSpec) -> Bool {
        let unauthorized = unauthorizedUsers.union(spec.unauthorizedUsers)
        let authorized = spec.authorizedUsers ?? authorizedUsers
        guard let user else { return authorized == nil }
        if unauthorized.contains(user) { return false }
        if let authorized, !authorized.contains(user) { return false }
        return true
    }

    /// Refuses a start that would exceed a limit, naming the limit and its value.
    public func check(total: Int, forUser user: String?, userCount: Int) throws(GatewayError) {
        if maxKernels > 0 && total >= maxKernels {
            throw .limitReached("Kernel limit reached: a maximum of \(maxKernels) kernels is allowed (max-kernels = \(maxKernels))")
        }
        if maxKernelsPerUser > 0, let user, userCount >= maxKernelsPerUser {
            throw .limitReached("Kernel limit reached for user '\(user)': a maximum of \(maxKernelsPerUser) kernels per user is allowed (max-kernels-per-user = \(maxKernelsPerUser))")
        }
    }
}
