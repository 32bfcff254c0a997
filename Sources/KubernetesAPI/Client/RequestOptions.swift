/// Options of a list request.
public struct ListOptions: Sendable, Hashable {
    /// Label selector, e.g. `app=kernel,tier!=db` or `env in (a,b)`.
    public var labelSelector: String?
    /// Field selector, e.g. `metadata.name=x` or `status.phase=Running`.
    public var fieldSelector: String?
    /// Page size; `nil` for everything at once.
    public var limit: Int?
    /// Continue token from the previous page's ``ListMeta/continue``.
    public var continueToken: String?
    /// `resourceVersion` semantics of the list (`"0"` = any cached version); `nil` = most recent.
    public var resourceVersion: String?

    /// Creates list options.
    /// - Parameters:
    ///   - labelSelector: Label selector.
    ///   - fieldSelector: Field selector.
    ///   - limit: Page size.
    ///   - continueToken: Continue token.
    ///   - resourceVersion: Resource version.
    public init(
        labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil,
        continueToken: String? = nil, resourceVersion: String? = nil
    ) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
    }

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { items.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { items.append(("fieldSelector", fieldSelector)) }
        if let limit { items.append(("limit", String(limit))) }
        if let continueToken, !continueToken.isEmpty { items.append(("continue", continueToken)) }
        if let resourceVersion { items.append(("resourceVersion", resourceVersion)) }
        return items
    }
}

/// Options of a watch request.
public struct WatchOptions: Sendable, Hashable {
    /// Label selector.
    public var labelSelector: String?
    /// Field selector.
    public var fieldSelector: String?
    /// Start after this resourceVersion (normally the list's); `nil` = from now, with synthetic ADDED events.
    public var resourceVersion: String?
    /// Ask for BOOKMARK events (resourceVersion progress without changes). Default `true`.
    public var allowWatchBookmarks: Bool
    /// Server-side duration of the watch; the stream ends after it. `nil` = server default.
    public var timeoutSeconds: Int?

    /// Creates watch options.
    /// - Parameters:
    ///   - labelSelector: Label selector.
    ///   - fieldSelector: Field selector.
    ///   - resourceVersion: Start point.
    ///   - allowWatchBookmarks: Ask for bookmarks. Default `true`.
    ///   - timeoutSeconds: Watch duration.
    public init(
        labelSelector: String? = nil, fieldSelector: String? = nil, resourceVersion: String? = nil,
        allowWatchBookmarks: Bool = true, timeoutSeconds: Int? = nil
    ) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.resourceVersion = resourceVersion
        self.allowWatchBookmarks = allowWatchBookmarks
        self.timeoutSeconds = timeoutSeconds
    }

    var queryItems: [(String, String)] {
        var items: [(String, String)] = [("watch", "true")]
        if let labelSelector, !labelSelector.isEmpty { items.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { items.append(("fieldSelector", fieldSelector)) }
        if let resourceVersion, !resourceVersion.isEmpty { items.append(("resourceVersion", resourceVersion)) }
        if allowWatchBookmarks { items.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { items.append(("timeoutSeconds", String(timeoutSeconds))) }
        return items
    }
}

/// How dependents are deleted with their owner.
public enum PropagationPolicy: String, Sendable, Hashable, Codable {
    /// Delete dependents in the background, after the owner.
    case background = "Background"
    /// Delete dependents first; the owner stays (with a finalizer) until they are gone.
    case foreground = "Foreground"
    /// Leave dependents (remove their owner references).
    case orphan = "Orphan"
}

/// Options of a delete request.
public struct DeleteOptions: Sendable, Hashable, Encodable {
    /// Preconditions that must hold for the delete to happen (else 409 Conflict).
    public struct Preconditions: Sendable, Hashable, Encodable {
        /// The object must have this UID.
        public var uid: String?
        /// The object must be at this resourceVersion.
        public var resourceVersion: String?

        /// Creates preconditions.
        /// - Parameters:
        ///   - uid: Required UID.
        ///   - resourceVersion: Required resourceVersion.
        public init(uid: String? = nil, resourceVersion: String? = nil) {
            self.uid = uid
            self.resourceVersion = resourceVersion
        }
    }

    /// Propagation policy; `nil` = the resource's default.
    public var propagationPolicy: PropagationPolicy?
    /// Grace period in seconds (0 = immediately); `nil` = the object's default.
    public var gracePeriodSeconds: Int?
    /// Optional preconditions.
    public var preconditions: Preconditions?

    /// Creates delete options.
    /// - Parameters:
    ///   - propagationPolicy: Propagation policy.
    ///   - gracePeriodSeconds: Grace period.
    ///   - preconditions: Preconditions.
    public init(
        propagationPolicy: PropagationPolicy? = nil, gracePeriodSeconds: Int? = nil,
        preconditions: Preconditions? = nil
    ) {
        self.propagationPolicy = propagationPolicy
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditions = preconditions
    }

    private enum CodingKeys: String, CodingKey {
        case kind, apiVersion, propagationPolicy, gracePeriodSeconds, preconditions
    }

    /// Encodes as a `DeleteOptions` body.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("DeleteOptions", forKey: .kind)
        try c.encode("v1", forKey: .apiVersion)
        try c.encodeIfPresent(propagationPolicy, forKey: .propagationPolicy)
        try c.encodeIfPresent(gracePeriodSeconds, forKey: .gracePeriodSeconds)
        try c.encodeIfPresent(preconditions, forKey: .preconditions)
    }
}

/// The kind of a patch body.
public enum PatchType: Sendable, Hashable {
    /// JSON merge patch (RFC 7386): objects merge, `null` deletes, arrays are replaced.
    case merge
    /// JSON patch (RFC 6902): a list of operations.
    case json

    /// The request content type.
    public var contentType: String {
        switch self {
        case .merge: return "application/merge-patch+json"
        case .json: return "application/json-patch+json"
        }
    }
}
