/// Errors of the kernel-management layer. The HTTP layer maps each case to a status code;
/// nothing below the HTTP layer knows about status codes.
public enum GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No kernel with this id is known.
    case noSuchKernel(id: String)
    /// No (allowed) kernelspec with this name exists.
    case noSuchKernelSpec(name: String)
    /// The user may not start kernels of this kernelspec.
    case userNotAuthorized(user: String, kernelSpec: String)
    /// The request was malformed; the text says how.
    case invalidRequest(String)
    /// A configured limit refuses the request; the text names the limit and its value.
    case limitReached(String)
    /// The kernel could not be started; the failure says why (exit, timeout, pod failure, provisioner reason).
    case launchFailed(StartFailure)
    /// The kernel is not in a state that allows the operation (e.g. dead, shutting down).
    case kernelUnavailable(id: String, state: String)
    /// The operation did not complete in time.
    case timeout(String)
    /// A fault of the gateway itself.
    case internalError(String)

    public var description: String {
        switch self {
        case .noSuchKernel(let id): return "Kernel does not exist: \(id)"
        case .noSuchKernelSpec(let name): return "Kernel spec '\(name)' not found"
        case .userNotAuthorized(let user, let spec):
            return "User '\(user)' is not authorized to start kernel '\(spec)'. Ensure KERNEL_USERNAME is set to an appropriate value and retry the request."
        case .invalidRequest(let text): return text
        case .limitReached(let text): return text
        case .launchFailed(let failure): return failure.description
        case .kernelUnavailable(let id, let state): return "Kernel \(id) is \(state)"
        case .timeout(let text): return text
        case .internalError(let text): return text
        }
    }
}
