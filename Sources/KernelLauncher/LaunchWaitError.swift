/// Why waiting for a launcher's response ended without one.
public enum LaunchWaitError: Error, Equatable, CustomStringConvertible {
    /// The deadline passed before an acceptable response arrived.
    case timedOut
    /// The waiting task was cancelled, or the expectation withdrawn.
    case cancelled
    /// A launch with this kernel id is already waiting for its response.
    case alreadyPending(String)
    /// Too many launches are waiting at once.
    case tooManyPending(Int)

    public var description: String {
        switch self {
        case .timedOut: "no connection info from the kernel launcher before the launch deadline"
        case .cancelled: "waiting for the kernel launcher was cancelled"
        case .alreadyPending(let id): "kernel \(id) is already waiting for its launcher"
        case .tooManyPending(let limit): "more than \(limit) kernel launches waiting for their launchers"
        }
    }
}

/// What became of one response the listener decoded; everything but ``accepted`` and ``held`` is dropped.
public enum LaunchDelivery: String, Sendable, Equatable {
    /// Handed to the waiting launch.
    case accepted
    /// Kept until the launch learns its kernel's address (the pod IP), then accepted if it came from there.
    case held
    /// No launch waits for this kernel id.
    case unknownKernel = "unknown kernel id"
    /// The launch's deadline has passed.
    case expired = "launch deadline passed"
    /// The launch already has its response (a replay or a second launcher).
    case duplicate = "launch already answered"
    /// Sent from another address than the kernel's.
    case wrongPeer = "sent from another address than the kernel's"
}
