import JupyterController
import KubernetesAPI

/// Custom resources as the API server would return them (uid, generation, type meta).
enum Fixtures {
    static func object(_ kind: String, name: String, namespace: String = "default", spec: KubeJSON, generation: Int64 = 1) -> KubeObject {
        var object = KubeObject(apiVersion: JupyterResources.apiVersion, kind: kind, name: name, namespace: namespace)
        object.metadata.uid = "uid-\(name)"
        object.metadata.generation = generation
        object.metadata.resourceVersion = "7"
        object.spec = spec
        return object
    }

    /// The seed's gateway sample.
    static var seedGatewaySpec: KubeJSON {
        [
            "cullIdleTimeout": 3600,
            "resources": ["requests": ["memory": "64Mi", "cpu": "250m"], "limits": ["memory": "128Mi", "cpu": "500m"]],
        ]
    }

    static func gateway(_ name: String = "jupytergateway-sample", spec: KubeJSON = seedGatewaySpec) throws -> JupyterGateway {
        try JupyterGateway(object("JupyterGateway", name: name, spec: spec))
    }

    static func notebook(_ name: String = "jupyternotebook-sample", spec: KubeJSON = ["gateway": ["name": "jupytergateway-sample", "namespace": "default"]]) throws -> JupyterNotebook {
        try JupyterNotebook(object("JupyterNotebook", name: name, spec: spec))
    }

    static func kernelSpec(_ name: String, spec: KubeJSON) throws -> JupyterKernelSpec {
        try JupyterKernelSpec(object("JupyterKernelSpec", name: name, spec: spec))
    }

    static let connection = GatewayConnection(
        name: "jupytergateway-sample", namespace: "default", url: "http://jupytergateway-sample.default:8888",
        launchTimeout: 60)
}

extension Array where Element == DesiredChild {
    func child(_ kind: String, _ name: String) -> KubeObject? {
        first { $0.resource.kind == kind && $0.object.name == name }?.object
    }
}

extension KubeObject {
    /// `name → env entry` of the first container of a Deployment's pod template.
    var containerEnv: [String: KubeJSON] {
        let entries = self[path: "spec", "template", "spec", "containers"]?[0]?["env"]?.arrayValue ?? []
        var map: [String: KubeJSON] = [:]
        for entry in entries { if let name = entry["name"]?.stringValue { map[name] = entry } }
        return map
    }
}
