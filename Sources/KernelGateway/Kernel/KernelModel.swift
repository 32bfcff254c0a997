import Foundation

/// A kernel as the REST API shows it.
public struct KernelModel: Sendable, Equatable {
    /// The kernel id (a UUID string).
    public var id: String
    /// The kernelspec name.
    public var name: String
    /// When the kernel was last used.
    public var lastActivity: Date
    /// `starting`, `idle`, `busy`, `restarting`, `terminating` or `dead`.
    public var executionState: String
    /// Number of open WebSocket connections.
    public var connections: Int
    /// Why the kernel is dead or restarting, when known.
    public var reason: String?
    /// The user who started it (`KERNEL_USERNAME`), when given.
    public var user: String?
}
