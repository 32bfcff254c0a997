import KubernetesAPI

extension ReconcileContext {
    /// Whether `gateway` allows notebooks of `namespace` (reads the Namespace's labels only for a selector).
    func consents(_ gateway: JupyterGateway, to namespace: String) async throws -> Bool {
        var labels: [String: String]?
        if NamespaceConsent.needsLabels(namespace, gateway: gateway) {
            do {
                labels = try await client.get(.namespaces, name: namespace, as: KubeObject.self).labels
            } catch KubernetesError.notFound {
                labels = nil
            }
        }
        return NamespaceConsent.allows(namespace, gateway: gateway, namespaceLabels: labels)
    }
}
