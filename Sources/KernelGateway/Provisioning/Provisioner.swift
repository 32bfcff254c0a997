import Foundation
import JupyterProtocol

/// Everything a provisioner needs to launch one kernel.
public struct LaunchContext: Sendable {
    /// The kernel's id (kept across restarts).
    public var kernelID: String
    /// The kernelspec to launch.
    public var spec: KernelSpec
    /// The kernel's full environment (already filtered and validated).
    public var environment: [String: String]
    /// Working directory of the kernel process.
    public var workingDirectory: String
    /// The user who asked for the kernel (`KERNEL_USERNAME`), if any.
    public var user: String?
    /// Connection info to reuse (on restart), so that the gateway's sockets stay connected.
    public var reuseConnection: ConnectionInfo?
    /// How long the launch may take (the gateway's maximum, or the client's `KERNEL_LAUNCH_TIMEOUT` when lower).
    public var launchTimeout: Duration = .seconds(60)

    /// Creates a launch context.
    public init(kernelID: String, spec: KernelSpec, environment: [String: String], workingDirectory: String,
                user: String?, reuseConnection: ConnectionInfo? = nil) {
        self.kernelID = kernelID
        self.spec = spec
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.reuseConnection = reuseConnection
    }
}

/// How a kernel's process (or pod) ended.
public enum KernelExit: Sendable, Equatable, CustomStringConvertible {
    /// Exited with a status code.
    case exited(code: Int32)
    /// Killed by a signal.
    case signaled(signal: Int32)
    /// Gone for a reason the provisioner describes (e.g. a pod's OOMKilled).
    case lost(reason: String)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        case .lost(let reason): return reason
        }
    }
}

/// Errors of provisioners.
public enum ProvisionerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kernel could not be launched; the text says why.
    case launchFailed(String)
    /// The request itself is refused (bad or forbidden values), with the error to report.
    case refused(GatewayError)

    public var description: String {
        switch self {
        case .launchFailed(let text): return text
        case .refused(let error): return error.description
        }
    }
}

/// The seam between kernel management and where kernels run: a local process, a Kubernetes pod, ...
public protocol Provisioner: Sendable {
    /// Launches a kernel and returns once its connection info is known (not necessarily answering yet).
    func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel
}

/// One running kernel instance (process or pod) as a provisioner sees it.
public protocol ProvisionedKernel: Sendable {
    /// Where and how to reach the kernel's sockets.
    var connectionInfo: ConnectionInfo { get }
    /// The process id, when the kernel is a local process.
    var processID: Int32? { get }
    /// Interrupts by signal (SIGINT to the process group, or the provisioner's equivalent).
    func interruptBySignal() async throws(ProvisionerError)
    /// Asks the process to stop (SIGTERM), waits up to `grace`, then kills it; returns when it is gone.
    func terminate(grace: Duration) async
    /// Suspends until the kernel is gone.
    func waitForExit() async -> KernelExit
    /// Suspends until the kernel is gone or the calling task is cancelled (then nil).
    func waitForExitOrCancellation() async -> KernelExit?
    /// Whether it is already gone.
    var hasExited: Bool { get }
    /// Removes what the launch left behind (connection file, Secret...). Idempotent.
    func cleanUp() async
    /// Whether a restart can start a new kernel process in place (same pod) instead of a new launch.
    ///
    /// Such a kernel's supervisor starts a new process whenever the old one exits cleanly, so a
    /// `shutdown_request` never makes it go away: only ``terminate(grace:)`` does.
    var restartsInPlace: Bool { get }
    /// Whether signals reach the kernel (otherwise interrupts go as `interrupt_request` on control).
    var supportsSignals: Bool { get }
    /// Records the kernel's last activity where the provisioner keeps state (a pod annotation); the
    /// provisioner decides how often it actually writes.
    func noteActivity(_ lastActivity: Date) async
}

extension ProvisionedKernel {
    public var restartsInPlace: Bool { false }
    public var supportsSignals: Bool { true }
    public func noteActivity(_ lastActivity: Date) async {}
}
