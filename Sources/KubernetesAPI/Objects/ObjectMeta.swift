/// `metadata` of a Kubernetes object.
///
/// The common fields are typed; every other member (`managedFields`, `selfLink`, …) is kept in
/// ``additionalFields`` so that a read-modify-write (`update`) does not drop anything.
public struct ObjectMeta: Sendable, Hashable {
    /// `metadata.name`.
    public var name: String?
    /// `metadata.generateName` (prefix for server-generated names on create).
    public var generateName: String?
    /// `metadata.namespace` (`nil` for cluster-scoped objects).
    public var namespace: String?
    /// `metadata.uid`, set by the server.
    public var uid: String?
    /// `metadata.resourceVersion`, set by the server; send it back on `update` for optimistic concurrency.
    public var resourceVersion: String?
    /// `metadata.generation`, bumped by the server on spec changes.
    public var generation: Int64?
    /// `metadata.creationTimestamp` (RFC 3339).
    public var creationTimestamp: String?
    /// `metadata.deletionTimestamp` (RFC 3339), set when deletion has been requested.
    public var deletionTimestamp: String?
    /// `metadata.deletionGracePeriodSeconds`.
    public var deletionGracePeriodSeconds: Int64?
    /// `metadata.labels` (empty when absent).
    public var labels: [String: String]
    /// `metadata.annotations` (empty when absent).
    public var annotations: [String: String]
    /// `metadata.ownerReferences` (empty when absent).
    public var ownerReferences: [OwnerReference]
    /// `metadata.finalizers` (empty when absent).
    public var finalizers: [String]
    /// Every other member of `metadata`, preserved verbatim.
    public var additionalFields: [String: KubeJSON]

    /// Creates metadata.
    /// - Parameters:
    ///   - name: Object name (or use `generateName`).
    ///   - namespace: Namespace for namespaced objects.
    ///   - generateName: Name prefix for a server-generated name.
    ///   - labels: Labels.
    ///   - annotations: Annotations.
    ///   - ownerReferences: Owners of the object.
    ///   - finalizers: Finalizers.
    public init(
        name: String? = nil,
        namespace: String? = nil,
        generateName: String? = nil,
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        ownerReferences: [OwnerReference] = [],
        finalizers: [String] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.generateName = generateName
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
        self.finalizers = finalizers
        self.additionalFields = [:]
    }

    /// Whether deletion has been requested (`deletionTimestamp` is set).
    public var isBeingDeleted: Bool { deletionTimestamp != nil }

    /// The owner reference marked `controller: true`, if any.
    public var controllerReference: OwnerReference? {
        ownerReferences.first { $0.controller == true }
    }
}

extension ObjectMeta: Codable {
    private enum Key: String, CodingKey, CaseIterable {
        case name, generateName, namespace, uid, resourceVersion, generation, creationTimestamp
        case deletionTimestamp, deletionGracePeriodSeconds, labels, annotations, ownerReferences, finalizers
    }

    /// Decodes metadata, keeping unknown members in ``additionalFields``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        generateName = try c.decodeIfPresent(String.self, forKey: .generateName)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        uid = try c.decodeIfPresent(String.self, forKey: .uid)
        resourceVersion = try c.decodeIfPresent(String.self, forKey: .resourceVersion)
        generation = try c.decodeIfPresent(Int64.self, forKey: .generation)
        creationTimestamp = try c.decodeIfPresent(String.self, forKey: .creationTimestamp)
        deletionTimestamp = try c.decodeIfPresent(String.self, forKey: .deletionTimestamp)
        deletionGracePeriodSeconds = try c.decodeIfPresent(Int64.self, forKey: .deletionGracePeriodSeconds)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations) ?? [:]
        ownerReferences = try c.decodeIfPresent([OwnerReference].self, forKey: .ownerReferences) ?? []
        finalizers = try c.decodeIfPresent([String].self, forKey: .finalizers) ?? []
        let all = try decoder.singleValueContainer().decode([String: KubeJSON].self)
        let known = Set(Key.allCases.map(\.rawValue))
        additionalFields = all.filter { !known.contains($0.key) }
    }

    /// Encodes metadata; empty collections and `nil` fields are omitted.
    public func encode(to encoder: any Encoder) throws {
        var extra = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in additionalFields {
            try extra.encode(value, forKey: AnyCodingKey(key))
        }
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(generateName, forKey: .generateName)
        try c.encodeIfPresent(namespace, forKey: .namespace)
        try c.encodeIfPresent(uid, forKey: .uid)
        try c.encodeIfPresent(resourceVersion, forKey: .resourceVersion)
        try c.encodeIfPresent(generation, forKey: .generation)
        try c.encodeIfPresent(creationTimestamp, forKey: .creationTimestamp)
        try c.encodeIfPresent(deletionTimestamp, forKey: .deletionTimestamp)
        try c.encodeIfPresent(deletionGracePeriodSeconds, forKey: .deletionGracePeriodSeconds)
        if !labels.isEmpty { try c.encode(labels, forKey: .labels) }
        if !annotations.isEmpty { try c.encode(annotations, forKey: .annotations) }
        if !ownerReferences.isEmpty { try c.encode(ownerReferences, forKey: .ownerReferences) }
        if !finalizers.isEmpty { try c.encode(finalizers, forKey: .finalizers) }
    }
}

/// A coding key for arbitrary member names.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
