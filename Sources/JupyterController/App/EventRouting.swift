import KubernetesAPI

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

    /// The gateway and the notebooks a kernel pod belongs to (by its labels).
    public static func owners(ofKernelPod pod: KubeObject, notebooks: [KubeObject]) -> (gateway: ObjectKey?, notebooks: [ObjectKey]) {
        guard let gatewayLabel = pod.labels[ControllerLabels.gateway] else { return (nil, []) }
        let gateway = ObjectKey(namespace: pod.namespace, name: gatewayLabel)
        guard let notebookLabel = pod.labels[ControllerLabels.notebook] else { return (gateway, []) }
        let matching = Self.notebooks(referencing: gateway, in: notebooks).filter {
            ControllerLabels.labelValue($0.name) == notebookLabel
        }
        return (gateway, matching)
    }
}
