import KubernetesAPI

/// The Ingress of a gateway or notebook (`spec.ingress`): one rule for its host and path prefix to its Service, TLS
/// for that host when a Secret is named.
enum IngressRendering {
    /// An Ingress named `name` to the Service of that name, port `servicePort` (by name).
    static func ingress(
        _ settings: JupyterGatewaySpec.IngressSettings, name: String, servicePort: String, factory: ObjectFactory
    ) -> DesiredChild {
        var object = factory.make(.ingresses, name: name)
        if let annotations = settings.annotations { object.annotations = annotations }
        let path: KubeJSON = [
            "path": .string(KernelSpecRenderer.nonEmpty(settings.path) ?? "/"),
            "pathType": "Prefix",
            "backend": ["service": ["name": .string(name), "port": ["name": .string(servicePort)]]],
        ]
        var spec: KubeJSON = ["rules": [["host": .string(settings.host), "http": ["paths": [path]]]]]
        if let className = KernelSpecRenderer.nonEmpty(settings.ingressClassName) { spec["ingressClassName"] = .string(className) }
        if let secret = KernelSpecRenderer.nonEmpty(settings.tlsSecretName) {
            spec["tls"] = [["hosts": [.string(settings.host)], "secretName": .string(secret)]]
        }
        object.spec = spec
        return DesiredChild(.ingresses, object)
    }

    /// The URL the Ingress serves: `https://host/path` with a TLS Secret, else `http://host/path`.
    static func url(of settings: JupyterGatewaySpec.IngressSettings) -> String {
        let scheme = KernelSpecRenderer.nonEmpty(settings.tlsSecretName) == nil ? "http" : "https"
        let path = KernelSpecRenderer.nonEmpty(settings.path) ?? "/"
        return "\(scheme)://\(settings.host)\(path.hasPrefix("/") ? path : "/" + path)"
    }
}
