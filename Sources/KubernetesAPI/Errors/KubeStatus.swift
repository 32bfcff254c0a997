/// A `kind: Status` object, as the API server returns for errors (and some deletes).
public struct KubeStatus: Codable, Sendable, Hashable {
    /// `Status`.
    public var kind: String?
    /// `v1`.
    public var apiVersion: String?
    /// `Success` or `Failure`.
    public var status: String?
    /// Human-readable description.
    public var message: String?
    /// Machine-readable reason: `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Forbidden`, `Expired`, `Gone`…
    public var reason: String?
    /// The HTTP status code this status stands for.
    public var code: Int?
    /// Extra details (object identity, field causes, retry delay).
    public var details: StatusDetails?

    /// Creates a status.
    /// - Parameters:
    ///   - code: HTTP code.
    ///   - reason: Machine-readable reason.
    ///   - message: Description.
    public init(code: Int?, reason: String?, message: String?) {
        self.kind = "Status"
        self.apiVersion = "v1"
        self.status = "Failure"
        self.code = code
        self.reason = reason
        self.message = message
    }
}

/// `details` of a ``KubeStatus``.
public struct StatusDetails: Codable, Sendable, Hashable {
    /// Name of the object concerned.
    public var name: String?
    /// Group of the object concerned.
    public var group: String?
    /// Kind of the object concerned.
    public var kind: String?
    /// UID of the object concerned.
    public var uid: String?
    /// Field-level causes (validation errors).
    public var causes: [StatusCause]?
    /// Seconds the client should wait before retrying.
    public var retryAfterSeconds: Int?
}

/// One cause of a failure, e.g. an invalid field.
public struct StatusCause: Codable, Sendable, Hashable {
    /// Machine-readable cause, e.g. `FieldValueInvalid`.
    public var reason: String?
    /// Description.
    public var message: String?
    /// The field concerned, e.g. `spec.containers[0].image`.
    public var field: String?
}
