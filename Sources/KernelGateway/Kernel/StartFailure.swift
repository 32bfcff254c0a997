/// Why a kernel did not start (or restart): a typed value from where it happened up to the HTTP edge, which
/// only renders its ``description``.
public enum StartFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provisioner could not launch it (no free ports, the API refused the pod...); the text says why.
    case provisioner(String)
    /// The kernel process (or pod) ended before it answered.
    case ended(KernelExit)
    /// It did not answer `kernel_info_request` within the launch timeout.
    case timedOut(Duration)
    /// Its pod failed for good before it ran (`Unschedulable`, `ErrImagePull`...), with Kubernetes' reason.
    case podFailed(pod: String, reason: String)
    /// Its pod did not run within the launch timeout; `pending` says what it was still waiting for.
    case podTimedOut(pod: String, timeout: Duration, pending: String?)
    /// The gateway could not open its sockets to the kernel.
    case unreachable(String)
    /// It was shut down (DELETE, culling, the gateway stopping) while it was starting.
    case stoppedWhileStarting
    /// The start request was cancelled (the client went away).
    case cancelled

    public var description: String {
        switch self {
        case .provisioner(let text): return text
        case .ended(let exit): return "The kernel process \(exit) before it was ready"
        case .timedOut(let timeout): return "The kernel did not answer within the launch timeout of \(timeout)"
        case .podFailed(let pod, let reason): return "Kernel pod \(pod) failed to start: \(reason)"
        case .podTimedOut(let pod, let timeout, let pending):
            return "Kernel pod \(pod) did not start within the launch timeout of \(timeout)\(pending.map { " (still \($0))" } ?? "")"
        case .unreachable(let text): return "Cannot connect to the kernel's sockets: \(text)"
        case .stoppedWhileStarting: return "The kernel was shut down while it was starting"
        case .cancelled: return "The kernel start was cancelled"
        }
    }
}
