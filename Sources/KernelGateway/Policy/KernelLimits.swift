/// Numeric limits and global user lists (EG_MAX_KERNELS, EG_MAX_KERNELS_PER_USER,
/// EG_AUTHORIZED_USERS, EG_UNAUTHORIZED_USERS).
public struct KernelLimits: Sendable, Equatable {
    /// Most kernels at once, starting ones included; zero = unlimited (only when set on purpose: the default is
    /// ``defaultMaxKernels``).
    public var maxKernels: Int
    /// Most kernels per user (see ``bucket(of:)``), starting ones included; zero = unlimited.
    public var maxKernelsPerUser: Int
    /// Users allowed to start kernels; nil = everyone. A kernelspec's own list replaces it (as EG).
    public var authorizedUsers: Set<String>?
    /// Users never allowed; united with a kernelspec's own list (as EG).
    public var unauthorizedUsers: Set<String>

    /// The default global limit: as many kernels as a small machine survives (processes, ports, threads).
    public static let defaultMaxKernels = 64

    /// The per-user bucket a start counts against: the `KERNEL_USERNAME` compared case-insensitively; every
    /// start without one shares the anonymous bucket `-` (leaving the name out is no way around the limit).
    public static func bucket(of user: String?) -> String {
        guard let user, !user.isEmpty else { return "-" }
        return user.lowercased()
    }

    /// Creates limits: ``defaultMaxKernels`` kernels, no per-user limit, open to every user by default.
    public init(maxKernels: Int = KernelLimits.defaultMaxKernels, maxKernelsPerUser: Int = 0, authorizedUsers: Set<String>? = nil,
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

    /// These limits with a user's own per-user limit (their users entry's `maxKernels`) in place of the global one.
    public func forUser(limit: Int?) -> KernelLimits {
        var limits = self
        if let limit { limits.maxKernelsPerUser = limit }
        return limits
    }

    /// Refuses a start that would exceed a limit, naming the limit and its value. `userCount` is the number of
    /// kernels in the start's ``bucket(of:)``.
    public func check(total: Int, forUser user: String?, userCount: Int) throws(GatewayError) {
        if maxKernels > 0 && total >= maxKernels {
            throw .limitReached("Kernel limit reached: a maximum of \(maxKernels) kernels is allowed (max-kernels = \(maxKernels))")
        }
        if maxKernelsPerUser > 0, userCount >= maxKernelsPerUser {
            let who = Self.bucket(of: user) == "-" ? "anonymous users (no KERNEL_USERNAME)" : "user '\(user ?? "")'"
            throw .limitReached("Kernel limit reached for \(who): a maximum of \(maxKernelsPerUser) kernels per user is allowed (max-kernels-per-user = \(maxKernelsPerUser))")
        }
    }
}
