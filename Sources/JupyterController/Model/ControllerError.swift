/// Why a reconcile could not complete.
public enum ControllerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The custom resource's spec cannot be decoded or is inconsistent (retrying does not help).
    case invalidSpec(String)
    /// A child with our name exists but is controlled by someone else.
    case foreignOwner(kind: String, name: String, owner: String)
    /// Something the object needs does not exist (yet).
    case missingDependency(String)
    /// Kernel pods are still being deleted.
    case kernelsRemaining(Int)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .invalidSpec(let message): return "invalid spec: \(message)"
        case .foreignOwner(let kind, let name, let owner):
            return "\(kind) \(name) exists and is controlled by \(owner)"
        case .missingDependency(let message): return message
        case .kernelsRemaining(let count): return "\(count) kernel pod(s) still terminating"
        }
    }

    /// A `CamelCase` reason for conditions and Events.
    public var reason: String {
        switch self {
        case .invalidSpec: return "InvalidSpec"
        case .foreignOwner: return "ChildConflict"
        case .missingDependency: return "MissingDependency"
        case .kernelsRemaining: return "KernelsTerminating"
        }
    }

    /// Whether `error` is an ``invalidSpec(_:)``.
    public static func isInvalidSpec(_ error: (any Error)?) -> Bool {
        if let error = error as? ControllerError, case .invalidSpec = error { return true }
        return false
    }
}
