/// An error from the Kubernetes API or from talking to it.
///
/// Match on ``kind``, or use the statics as catch patterns:
/// ```swift
/// do { try await client.delete(.pods, name: "x", namespace: "ns") }
/// catch KubernetesError.notFound { /* already gone */ }
/// ```
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// 400 `BadRequest`.
        case badRequest
        /// 401: missing or rejected credentials.
        case unauthorized
        /// 403 `Forbidden`.
        case forbidden
        /// 404 `NotFound`.
        case notFound
        /// 409 `AlreadyExists` (create of an existing name).
        case alreadyExists
        /// 409 `Conflict` (stale `resourceVersion` or precondition failed).
        case conflict
        /// 410 `Gone` / `Expired`: the requested resourceVersion is too old; re-list.
        case gone
        /// 422 `Invalid`: validation failed (see ``KubeStatus/details``).
        case invalid
        /// 429 `TooManyRequests`.
        case tooManyRequests
        /// Any other HTTP status (mostly 5xx); see ``KubernetesError/code``.
        case server
        /// The connection failed or broke (refused, reset, TLS failure…).
        case transport
        /// A response could not be decoded, or a request body not encoded.
        case decoding
        /// A client-side deadline passed (connect or request).
        case timeout
    }

    /// What went wrong.
    public var kind: Kind
    /// HTTP status code (from the response, or the `Status` body's `code`), if there was a response.
    public var code: Int?
    /// `Status.reason`, e.g. `AlreadyExists`.
    public var reason: String?
    /// Human-readable message (`Status.message` or a description of the failure).
    public var message: String
    /// The `Status` body, when the server sent one.
    public var status: KubeStatus?
    /// Server-suggested delay before retrying (`Retry-After` or `details.retryAfterSeconds`).
    public var retryAfter: Duration?

    /// Creates an error.
    /// - Parameters:
    ///   - kind: Category.
    ///   - code: HTTP status code.
    ///   - reason: `Status.reason`.
    ///   - message: Description.
    ///   - status: `Status` body.
    ///   - retryAfter: Suggested retry delay.
    public init(
        kind: Kind, code: Int? = nil, reason: String? = nil, message: String,
        status: KubeStatus? = nil, retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    /// `kind (code reason): message`.
    public var description: String {
        var head = "\(kind)"
        let detail = [code.map(String.init), reason].compactMap { $0 }.joined(separator: " ")
        if !detail.isEmpty { head += " (\(detail))" }
        return "\(head): \(message)"
    }

    /// Whether the error means "the resourceVersion is too old, list again" (410 / `Expired` / `Gone`).
    public var isGone: Bool { kind == .gone }

    /// Whether this error is of `kind`.
    public func `is`(_ kind: Kind) -> Bool { self.kind == kind }

    // MARK: Catch patterns

    /// Pattern for ``Kind-swift.enum/badRequest``.
    public static let badRequest = Kind.badRequest
    /// Pattern for ``Kind-swift.enum/unauthorized``.
    public static let unauthorized = Kind.unauthorized
    /// Pattern for ``Kind-swift.enum/forbidden``.
    public static let forbidden = Kind.forbidden
    /// Pattern for ``Kind-swift.enum/notFound``.
    public static let notFound = Kind.notFound
    /// Pattern for ``Kind-swift.enum/alreadyExists``.
    public static let alreadyExists = Kind.alreadyExists
    /// Pattern for ``Kind-swift.enum/conflict``.
    public static let conflict = Kind.conflict
    /// Pattern for ``Kind-swift.enum/gone``.
    public static let gone = Kind.gone
    /// Same as ``gone`` (the watch `ERROR` reason is `Expired`).
    public static let expired = Kind.gone
    /// Pattern for ``Kind-swift.enum/invalid``.
    public static let invalid = Kind.invalid
    /// Pattern for ``Kind-swift.enum/tooManyRequests``.
    public static let tooManyRequests = Kind.tooManyRequests
    /// Pattern for ``Kind-swift.enum/server``.
    public static let server = Kind.server
    /// Pattern for ``Kind-swift.enum/transport``.
    public static let transport = Kind.transport
    /// Pattern for ``Kind-swift.enum/decoding``.
    public static let decoding = Kind.decoding
    /// Pattern for ``Kind-swift.enum/timeout``.
    public static let timeout = Kind.timeout
}

extension KubernetesError {
    /// A decoding failure.
    static func decodingFailure(_ message: String) -> KubernetesError {
        KubernetesError(kind: .decoding, message: message)
    }

    /// A client-side timeout.
    static func timedOut(_ message: String) -> KubernetesError {
        KubernetesError(kind: .timeout, message: message)
    }
}

extension KubernetesError.Kind {
    /// Matches a `KubernetesError` of this kind, e.g. `catch KubernetesError.notFound`.
    public static func ~= (kind: KubernetesError.Kind, error: any Error) -> Bool {
        (error as? KubernetesError)?.kind == kind
    }
}
