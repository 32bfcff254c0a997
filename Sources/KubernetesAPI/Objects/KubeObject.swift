/// Any Kubernetes object (pod, secret, custom resource…) as typed metadata plus dynamic JSON.
///
/// ```swift
/// var pod = KubeObject(apiVersion: "v1", kind: "Pod", name: "kernel-1", namespace: "jupyter")
/// pod.labels["app"] = "kernel"
/// pod[path: "spec", "containers"] = [["name": "kernel", "image": "python:3.12"]]
/// let phase = pod.status?["phase"]?.stringValue
/// ```
public struct KubeObject: KubernetesObject, Hashable {
    /// `apiVersion`, e.g. `v1` or `apps/v1`.
    public var apiVersion: String?
    /// `kind`, e.g. `Pod`.
    public var kind: String?
    /// `metadata`.
    public var metadata: ObjectMeta
    /// Every other top-level member (`spec`, `status`, `data`, `rules`…).
    public var fields: [String: KubeJSON]

    /// Creates an object.
    /// - Parameters:
    ///   - apiVersion: API version.
    ///   - kind: Kind.
    ///   - metadata: Metadata.
    ///   - fields: Other top-level members.
    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(), fields: [String: KubeJSON] = [:]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.fields = fields
    }

    /// Creates an object with a name and namespace.
    /// - Parameters:
    ///   - apiVersion: API version.
    ///   - kind: Kind.
    ///   - name: `metadata.name`.
    ///   - namespace: `metadata.namespace`.
    public init(apiVersion: String, kind: String, name: String, namespace: String? = nil) {
        self.init(apiVersion: apiVersion, kind: kind, metadata: ObjectMeta(name: name, namespace: namespace))
    }

    /// Creates an empty object of a resource type (apiVersion and kind from the descriptor).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - name: `metadata.name`.
    ///   - namespace: `metadata.namespace`.
    public init(_ resource: ResourceDescriptor, name: String, namespace: String? = nil) {
        self.init(apiVersion: resource.apiVersion, kind: resource.kind, name: name, namespace: namespace)
    }

    // MARK: Metadata shortcuts

    /// `metadata.name` (empty string when unset).
    public var name: String {
        get { metadata.name ?? "" }
        set { metadata.name = newValue }
    }

    /// `metadata.namespace`.
    public var namespace: String? {
        get { metadata.namespace }
        set { metadata.namespace = newValue }
    }

    /// `metadata.uid`.
    public var uid: String? { metadata.uid }

    /// `metadata.resourceVersion`.
    public var resourceVersion: String? {
        get { metadata.resourceVersion }
        set { metadata.resourceVersion = newValue }
    }

    /// `metadata.labels`.
    public var labels: [String: String] {
        get { metadata.labels }
        set { metadata.labels = newValue }
    }

    /// `metadata.annotations`.
    public var annotations: [String: String] {
        get { metadata.annotations }
        set { metadata.annotations = newValue }
    }

    /// `metadata.ownerReferences`.
    public var ownerReferences: [OwnerReference] {
        get { metadata.ownerReferences }
        set { metadata.ownerReferences = newValue }
    }

    /// `metadata.finalizers`.
    public var finalizers: [String] {
        get { metadata.finalizers }
        set { metadata.finalizers = newValue }
    }

    // MARK: Body shortcuts

    /// A top-level member other than `apiVersion`, `kind` and `metadata`.
    public subscript(key: String) -> KubeJSON? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// A nested member below the top level, e.g. `pod[path: "status", "podIP"]`.
    /// Setting creates intermediate objects; setting `nil` removes the member.
    public subscript(path keys: String...) -> KubeJSON? {
        get { KubeJSON.object(fields)[keyPath: keys] }
        set {
            var body = KubeJSON.object(fields)
            body[keyPath: keys] = newValue
            fields = body.objectValue ?? [:]
        }
    }

    /// `spec`.
    public var spec: KubeJSON? {
        get { fields["spec"] }
        set { fields["spec"] = newValue }
    }

    /// `status`.
    public var status: KubeJSON? {
        get { fields["status"] }
        set { fields["status"] = newValue }
    }

    /// `data` (ConfigMaps; base64 strings for Secrets).
    public var data: KubeJSON? {
        get { fields["data"] }
        set { fields["data"] = newValue }
    }

    /// An owner reference pointing at this object (needs `uid`, so use an object read from the server).
    /// - Parameter controller: Mark the reference as the managing controller.
    public func ownerReference(controller: Bool = true) -> OwnerReference {
        OwnerReference(
            apiVersion: apiVersion ?? "", kind: kind ?? "", name: name, uid: uid ?? "",
            controller: controller, blockOwnerDeletion: controller ? true : nil)
    }

    /// Sets `apiVersion`/`kind` when missing.
    public mutating func fillTypeMeta(apiVersion: String, kind: String) {
        if self.apiVersion == nil || self.apiVersion?.isEmpty == true { self.apiVersion = apiVersion }
        if self.kind == nil || self.kind?.isEmpty == true { self.kind = kind }
    }

    /// The whole object as JSON.
    public var json: KubeJSON {
        var members = fields
        if let apiVersion { members["apiVersion"] = .string(apiVersion) }
        if let kind { members["kind"] = .string(kind) }
        members["metadata"] = try? KubeJSON(encoding: metadata)
        return .object(members)
    }

    /// Converts a JSON object into a `KubeObject`.
    /// - Throws: `KubernetesError` (`.decoding`) if `json` is not an object or its metadata is malformed.
    public init(json: KubeJSON) throws {
        self = try json.decode(as: KubeObject.self)
    }
}

extension KubeObject: Codable {
    private enum Key: String, CodingKey {
        case apiVersion, kind, metadata
    }

    /// Decodes any object.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        var all = try decoder.singleValueContainer().decode([String: KubeJSON].self)
        all["apiVersion"] = nil
        all["kind"] = nil
        all["metadata"] = nil
        fields = all
    }

    /// Encodes the object.
    public func encode(to encoder: any Encoder) throws {
        var extra = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in fields where Key(rawValue: key) == nil {
            try extra.encode(value, forKey: AnyCodingKey(key))
        }
        var c = encoder.container(keyedBy: Key.self)
        try c.encodeIfPresent(apiVersion, forKey: .apiVersion)
        try c.encodeIfPresent(kind, forKey: .kind)
        try c.encode(metadata, forKey: .metadata)
    }
}
