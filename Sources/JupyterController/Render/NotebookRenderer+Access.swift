import KubernetesAPI

extension NotebookRenderer {
    /// What a gateway may do in a notebook's namespace that it allows (issue 17 item 4): run the notebook's kernels
    /// there, under that namespace's ResourceQuota. The kernel verbs of the gateway's own Role
    /// (``GatewayRenderer/role()``): kernel pods, their connection Secrets, and the Events of its scale-up watch.
    static let gatewayAccessRules: KubeJSON = [
        ["apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete", "patch"]],
        ["apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create", "delete", "patch"]],
        ["apiGroups": [""], "resources": ["events"], "verbs": ["list", "watch"]],
    ]

    /// A Role and RoleBinding for the ServiceAccount of a gateway in another namespace, owned by the notebook
    /// (so they go with it). `nil` without a gateway or with one of the same namespace; the reconciler renders
    /// nothing (and removes them) while the gateway does not allow the notebook's namespace.
    func gatewayAccess() -> [DesiredChild]? {
        guard let gateway = input.gateway, gateway.namespace != input.notebook.namespace else { return nil }
        var role = factory.make(.roles, name: names.gatewayAccess)
        role.fields["rules"] = Self.gatewayAccessRules
        var binding = factory.make(.roleBindings, name: names.gatewayAccess)
        binding.fields["roleRef"] = ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(names.gatewayAccess)]
        binding.fields["subjects"] = [
            ["kind": "ServiceAccount", "name": .string(GatewayNames(gateway: gateway.name).serviceAccount), "namespace": .string(gateway.namespace)]
        ]
        return [DesiredChild(.roles, role), DesiredChild(.roleBindings, binding)]
    }

    /// The access Role and RoleBinding as children to remove.
    static func gatewayAccessChildren(namespace: String, names: NotebookNames) -> [AbsentChild] {
        [AbsentChild(.roles, namespace: namespace, name: names.gatewayAccess), AbsentChild(.roleBindings, namespace: namespace, name: names.gatewayAccess)]
    }
}
