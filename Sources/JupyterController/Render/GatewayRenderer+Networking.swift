import KubernetesAPI

extension GatewayRenderer {
    /// The Service named after the gateway, port 8888.
    func service() -> DesiredChild {
        let settings = input.gateway.spec.service
        var object = factory.make(.services, name: names.workload)
        if let annotations = settings?.annotations { object.annotations = annotations }
        object.spec = [
            "type": .string(KernelSpecRenderer.nonEmpty(settings?.type) ?? "ClusterIP"),
            "selector": KubeJSON(podSelector),
            "ports": [
                ["name": "http", "port": .int(Int64(JupyterGatewaySpec.port)), "targetPort": "http", "protocol": "TCP"]
            ],
        ]
        return DesiredChild(.services, object)
    }

    /// Only this gateway's pods may reach its kernel pods.
    func networkPolicy() -> DesiredChild {
        var object = factory.make(.networkPolicies, name: names.networkPolicy)
        object.labels[ControllerLabels.component] = ControllerLabels.kernelComponent
        object.spec = [
            "podSelector": ["matchLabels": KubeJSON(kernelSelector)],
            "policyTypes": ["Ingress"],
            "ingress": [["from": [["podSelector": ["matchLabels": KubeJSON(podSelector)]]]]],
        ]
        return DesiredChild(.networkPolicies, object)
    }

    /// The optional Ingress.
    func ingress() -> DesiredChild? {
        guard let settings = input.gateway.spec.ingress else { return nil }
        return IngressRendering.ingress(settings, name: names.workload, servicePort: "http", factory: factory)
    }
}
