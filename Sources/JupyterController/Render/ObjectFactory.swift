import KubernetesAPI

/// Builds the metadata every child shares: name, namespace, labels, controller owner reference.
struct ObjectFactory: Sendable {
    /// Namespace of the children.
    var namespace: String
    /// Labels every child carries.
    var labels: [String: String]
    /// The controller reference to the custom resource.
    var owner: OwnerReference

    /// A new object of `resource` named `name`, owned by the custom resource.
    func make(_ resource: ResourceDescriptor, name: String, owned: Bool = true) -> KubeObject {
        var object = KubeObject(resource, name: name, namespace: resource.namespaced ? namespace : nil)
        object.labels = labels
        if owned { object.ownerReferences = [owner] }
        return object
    }
}

extension KubeJSON {
    /// An `env` entry with a literal value.
    static func env(_ name: String, _ value: String) -> KubeJSON {
        ["name": .string(name), "value": .string(value)]
    }

    /// An `env` entry read from a Secret key.
    static func env(_ name: String, secret: String, key: String, optional: Bool = false) -> KubeJSON {
        var selector: KubeJSON = ["name": .string(secret), "key": .string(key)]
        if optional { selector["optional"] = true }
        return ["name": .string(name), "valueFrom": ["secretKeyRef": selector]]
    }

    /// An `env` entry read from a field of the pod.
    static func env(_ name: String, fieldPath: String) -> KubeJSON {
        ["name": .string(name), "valueFrom": ["fieldRef": ["apiVersion": "v1", "fieldPath": .string(fieldPath)]]]
    }

    /// A JSON object of strings, omitting the member when empty.
    static func stringMap(_ map: [String: String]?) -> KubeJSON? {
        guard let map, !map.isEmpty else { return nil }
        return KubeJSON(map)
    }
}
