import KubernetesAPI

/// One object a custom resource should have, as rendered.
public struct DesiredChild: Sendable, Hashable {
    /// How an existing object is brought to the desired state.
    public enum UpdatePolicy: Sendable, Hashable {
        /// Labels, annotations, owner references and every rendered top-level field are replaced.
        case replace
        /// Only labels, annotations and owner references are updated (e.g. a claim, whose spec is immutable).
        case metadataOnly
    }

    /// The resource type.
    public var resource: ResourceDescriptor
    /// The desired object (name, namespace, labels, owner references, body).
    public var object: KubeObject
    /// The update policy.
    public var policy: UpdatePolicy

    /// Creates a desired child.
    /// - Parameters:
    ///   - resource: Resource type.
    ///   - object: Desired object.
    ///   - policy: Update policy. Default ``UpdatePolicy/replace``.
    public init(_ resource: ResourceDescriptor, _ object: KubeObject, policy: UpdatePolicy = .replace) {
        self.resource = resource
        self.object = object
        self.policy = policy
    }

    /// `Kind namespace/name`, for logs and Events.
    public var description: String { "\(resource.kind) \(object.namespace ?? "")/\(object.name)" }
}

/// A child that must not exist (an optional child the spec no longer asks for).
public struct AbsentChild: Sendable, Hashable {
    /// The resource type.
    public var resource: ResourceDescriptor
    /// Namespace.
    public var namespace: String
    /// Name.
    public var name: String

    /// Creates an absent child.
    /// - Parameters:
    ///   - resource: Resource type.
    ///   - namespace: Namespace.
    ///   - name: Name.
    public init(_ resource: ResourceDescriptor, namespace: String, name: String) {
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }
}
