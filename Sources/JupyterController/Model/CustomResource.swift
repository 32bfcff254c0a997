import KubernetesAPI

/// A custom resource read from the API: the object as stored plus its typed `spec`.
public struct CustomResource<Spec: Codable & Sendable & Hashable>: Sendable {
    /// The object as stored (metadata, raw spec, status).
    public var object: KubeObject
    /// The typed spec.
    public var spec: Spec

    /// Decodes the spec of an object.
    /// - Parameter object: The object read from the API.
    /// - Throws: ``ControllerError/invalidSpec(_:)`` when the spec does not have the expected shape.
    public init(_ object: KubeObject) throws(ControllerError) {
        self.object = object
        do {
            spec = try (object.spec ?? .emptyObject).decode(as: Spec.self)
        } catch {
            throw .invalidSpec("\(object.kind ?? "object") \(object.namespace ?? "")/\(object.name): \(error)")
        }
    }

    /// Creates a resource from parts (tests, renderers).
    /// - Parameters:
    ///   - object: The object.
    ///   - spec: Its spec.
    public init(object: KubeObject, spec: Spec) {
        self.object = object
        self.spec = spec
    }

    /// `metadata.name`.
    public var name: String { object.name }
    /// `metadata.namespace` (`default` when unset).
    public var namespace: String { object.namespace ?? "default" }
    /// `metadata.generation` (0 when unset).
    public var generation: Int64 { object.metadata.generation ?? 0 }
    /// The `namespace/name` key.
    public var key: ObjectKey { ObjectKey(namespace: namespace, name: name) }

    /// The controller owner reference children carry.
    public var ownerReference: OwnerReference { object.ownerReference(controller: true) }
}

/// A JupyterGateway.
public typealias JupyterGateway = CustomResource<JupyterGatewaySpec>
/// A JupyterNotebook.
public typealias JupyterNotebook = CustomResource<JupyterNotebookSpec>
/// A JupyterKernelSpec.
public typealias JupyterKernelSpec = CustomResource<JupyterKernelSpecSpec>
