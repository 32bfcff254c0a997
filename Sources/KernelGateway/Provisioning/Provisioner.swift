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
    /// The notebook's path as the client sent it (relative to the notebook server's root), if any.
    public var notebookPath: String?
    /// The user's files, mounted into a kernel pod (from the users entry, never from the client).
    public var workspace: KernelWorkspace?
    /// The namespace of the kernel's pod when not the gateway's own: its user's workspace namespace (from the users
    /// entry, never from the client).
    public var namespace: String?
    /// The owner's own limit of kernels at once (their users entry's `maxKernels`), replacing the per-user limit;
    /// nil = the gateway's.
    public var userKernelLimit: Int?

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
    /// Shut down (or culled) on purpose by another replica of the gateway.
    case endedElsewhere(culled: Bool)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        case .lost(let reason): return reason
        case .endedElsewhere(let culled): return culled ? "culled by another gateway replica" : "shut down by another gateway replica"
        }
    }
}

/// Errors of provisioners.
public enum ProvisionerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The typed failure a start reports for this error.
    public var startFailure: StartFailure {
        switch self {
        case .launchFailed(let text): return .provisioner(text)
        case .failed(let failure): return failure
        case .refused(let error): return .provisioner(error.description)
        }
    }

    /// The kernel could not be launched; the text says why.
    case launchFailed(String)
    /// The kernel could not be launched, for a reason the provisioner knows the type of.
    case failed(StartFailure)
    /// The request itself is refused (bad or forbidden values), with the error to report.
    case refused(GatewayError)

    public var description: String {
        switch self {
        case .launchFailed(let text): return text
        case .failed(let failure): return failure.description
        case .refused(let error): return error.description
        }
    }
}

/// The seam between kernel management and where kernels run: a local process, a Kubernetes pod, ...
public protocol Provisioner: Sendable {
    /// Launches a kernel and returns once its connection info is known (not necessarily answering yet).
    func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel
    /// The kernels this gateway's earlier processes (or other replicas) left running where this provisioner keeps
    /// them, to be served again; empty for provisioners whose kernels end with the gateway.
    func runningKernels() async -> [RunningKernel]
    /// Calls `handle` for every kernel seen running or changing where this provisioner keeps them (other
    /// replicas' new kernels, activity they recorded), until the task is cancelled; returns at once for
    /// provisioners whose kernels only this gateway process knows.
    func followRunningKernels(_ handle: @escaping @Sendable (RunningKernel) async -> Void) async
    /// Stops counting a kernel that ended (or never started) where every replica sees the gateway's kernels
    /// (see ``KubernetesPodProvisioner``: launches are counted there, exact under concurrent starts).
    func release(_ context: LaunchContext) async
}

extension Provisioner {
    public func release(_ context: LaunchContext) async {}
    public func runningKernels() async -> [RunningKernel] { [] }
    public func followRunningKernels(_ handle: @escaping @Sendable (RunningKernel) async -> Void) async {}
}

/// A kernel found running (e.g. a pod of this gateway) with what is needed to serve it again.
public struct RunningKernel: Sendable {
    /// Everything a relaunch needs, as recorded where it runs (id, kernelspec name, user, environment).
    public var kernelID: String
    public var kernelSpecName: String
    public var user: String?
    public var environment: [String: String]
    public var workingDirectory: String
    /// When it was first started.
    public var createdAt: Date
    /// Its last activity as recorded (at most a minute old), if any.
    public var lastActivity: Date?
    /// Restarts recorded so far.
    public var restarts: Int
    /// The user's files as its pod mounts them (a relaunch mounts them again), if any.
    public var workspace: KernelWorkspace?
    /// The notebook's path relative to the workspace, as far as the pod's working directory tells.
    public var notebookPath: String?
    /// Where it runs, when not the gateway's own namespace (a relaunch goes there again).
    public var namespace: String?
    /// Waits (at most the given time) until it runs and returns it, ready to be connected to.
    public var resume: @Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel

    /// Creates the description of a running kernel.
    public init(kernelID: String, kernelSpecName: String, user: String?, environment: [String: String], workingDirectory: String,
                createdAt: Date, lastActivity: Date?, restarts: Int,
                resume: @escaping @Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel) {
        self.kernelID = kernelID
        self.kernelSpecName = kernelSpecName
        self.user = user
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.createdAt = createdAt
        self.lastActivity = lastActivity
        self.restarts = restarts
        self.resume = resume
    }
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
    /// Records the kernel's last activity and restart count where the provisioner keeps state (pod
    /// annotations); the provisioner decides how often it actually writes.
    func noteActivity(_ lastActivity: Date, restarts: Int) async
    /// Whether the kernel keeps running when the gateway stops (a pod), to be adopted by the next gateway;
    /// a local process is the gateway's child and stops with it.
    var outlivesGateway: Bool { get }
    /// Whether this gateway replica makes the kernel's lifecycle decisions (relaunch after a death, culling).
    /// Always for a local process; for a pod, the replica its owner annotation names.
    var isOwnedHere: Bool { get }
    /// Records, where other replicas see it, the last iopub message each session was handed here
    /// (the gateway is stopping and leaves the kernel running).
    func recordIopubCursors(_ cursors: [String: IopubCursor]) async
    /// The cursor another replica recorded for `session` (see ``recordIopubCursors(_:)``), if any.
    func iopubCursor(forSession session: String) -> IopubCursor?
    /// Records, where other replicas see it, that the kernel is ending on purpose (shut down or culled).
    func announceEnding(culled: Bool) async
    /// For a kernel owned elsewhere whose process is gone: waits (at most `timeout`) for the owner's relaunch and
    /// returns how to resume the new one; nil if none came.
    func awaitReplacement(timeout: Duration) async -> (@Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel)?
}

extension ProvisionedKernel {
    public var restartsInPlace: Bool { false }
    public var supportsSignals: Bool { true }
    public var outlivesGateway: Bool { false }
    public var isOwnedHere: Bool { true }
    public func announceEnding(culled: Bool) async {}
    public func recordIopubCursors(_ cursors: [String: IopubCursor]) async {}
    public func iopubCursor(forSession session: String) -> IopubCursor? { nil }
    public func awaitReplacement(timeout: Duration) async -> (@Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel)? {
        nil
    }
    public func noteActivity(_ lastActivity: Date, restarts: Int) async {}
}
