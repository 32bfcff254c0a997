import KubernetesAPI
import KubernetesRuntime

/// Which custom resources to reconcile when something changes. Pure functions over cached objects.
public enum EventRouting {
    /// The custom resource controlling a child (by its controller owner reference), if it is one of ours.
    /// - Returns: The kind (`JupyterGateway` / `JupyterNotebook`) and key.
    public static func owner(of child: KubeObject) -> (kind: String, key: ObjectKey)? {
        guard let reference = child.metadata.controllerReference,
            reference.apiVersion.hasPrefix(JupyterResources.group + "/"),
            reference.kind == JupyterResources.gateways.kind || reference.kind == JupyterResources.notebooks.kind
        else { return nil }
        return (reference.kind, ObjectKey(namespace: child.namespace, name: reference.name))
    }

    /// Notebooks whose `spec.gateway` names this gateway.
    public static func notebooks(referencing gateway: ObjectKey, in notebooks: [KubeObject]) -> [ObjectKey] {
        notebooks.compactMap { notebook in
            guard let name = notebook[path: "spec", "gateway", "name"]?.stringValue, name == gateway.name else { return nil }
            let explicit = notebook[path: "spec", "gateway", "namespace"]?.stringValue ?? ""
            let namespace = explicit.isEmpty ? (notebook.namespace ?? "default") : explicit
            return namespace == (gateway.namespace ?? "default") ? ObjectKey(notebook) : nil
        }
    }

    /// The gateway a notebook names (`nil` when none).
    public static func gateway(of notebook: KubeObject) -> ObjectKey? {
        guard let name = notebook[path: "spec", "gateway", "name"]?.stringValue, !name.isEmpty else { return nil }
        let explicit = notebook[path: "spec", "gateway", "namespace"]?.stringValue ?? ""
        return ObjectKey(namespace: explicit.isEmpty ? (notebook.namespace ?? "default") : explicit, name: name)
    }

    /// Gateways whose users change when a notebook goes away or names another gateway.
    public static func gatewaysLeft(by event: InformerEvent<KubeObject>) -> [ObjectKey] {
        switch event {
        case .added: return []
        case .deleted(let notebook): return gateway(of: notebook).map { [$0] } ?? []
        case .updated(let old, let new):
            guard let before = gateway(of: old), before != gateway(of: new) else { return [] }
            return [before]
        }
    }

    /// Gateways that may offer a kernelspec: every gateway in its namespace.
    public static func gateways(forKernelSpecIn namespace: String?, in gateways: [KubeObject]) -> [ObjectKey] {
        gateways.filter { $0.namespace == namespace }.map { ObjectKey($0) }
    }

    /// Gateways that may use a kernel template: those in the namespaces of kernelspecs referencing it.
    public static func gateways(forTemplate template: ObjectKey, kernelSpecs: [KubeObject], gateways: [KubeObject]) -> [ObjectKey] {
        var namespaces: Set<String> = []
        for kernelSpec in kernelSpecs {
            guard let name = kernelSpec[path: "spec", "template", "name"]?.stringValue, name == template.name else { continue }
            let explicit = kernelSpec[path: "spec", "template", "namespace"]?.stringValue ?? ""
            let namespace = explicit.isEmpty ? (kernelSpec.namespace ?? "") : explicit
            if namespace == (template.namespace ?? "") { namespaces.insert(kernelSpec.namespace ?? "") }
        }
        return gateways.filter { namespaces.contains($0.namespace ?? "") }.map { ObjectKey($0) }
    }

    /// The gateway and the notebooks a kernel pod belongs to (by its labels: the user hash, or the notebook).
    public static func owners(ofKernelPod pod: KubeObject, notebooks: [KubeObject]) -> (gateway: ObjectKey?, notebooks: [ObjectKey]) {
        guard let gatewayLabel = pod.labels[ControllerLabels.gateway] else { return (nil, []) }
        let gateway = ObjectKey(namespace: pod.namespace, name: gatewayLabel)
        let notebookLabel = pod.labels[ControllerLabels.notebook]
        let userHash = pod.labels[ControllerLabels.userHash]
        guard notebookLabel != nil || userHash != nil else { return (gateway, []) }
        let byKey = Dictionary(notebooks.map { (ObjectKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        let matching = Self.notebooks(referencing: gateway, in: notebooks).filter { key in
            if let notebookLabel, ControllerLabels.labelValue(key.name) == notebookLabel { return true }
            guard let userHash, let object = byKey[key], let notebook = try? JupyterNotebook(object) else { return false }
            return NotebookIdentity.userHash(NotebookIdentity.user(of: notebook)) == userHash
        }
        return (gateway, matching)
    }
}
