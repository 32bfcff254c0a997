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

    /// What a gateway in another namespace needs in the notebook's to run its user's kernels there: a Role and
    /// RoleBinding for the gateway's ServiceAccount and a NetworkPolicy admitting only the gateway's pods to the
    /// user's kernel pods (owned by the notebook, so they go with it), and the kernels' token-less ServiceAccount
    /// (shared by the namespace's notebooks of that gateway, so owned by none). `nil` without a gateway or with one
    /// of the same namespace; the reconciler renders nothing (and removes the owned ones) while the gateway does not
    /// allow the notebook's namespace.
    func gatewayAccess() -> [DesiredChild]? {
        guard let gateway = input.gateway, gateway.namespace != input.notebook.namespace else { return nil }
        let gatewayNames = GatewayNames(gateway: gateway.name)
        var role = factory.make(.roles, name: names.gatewayAccess)
        role.fields["rules"] = Self.gatewayAccessRules
        var binding = factory.make(.roleBindings, name: names.gatewayAccess)
        binding.fields["roleRef"] = ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(names.gatewayAccess)]
        binding.fields["subjects"] = [
            ["kind": "ServiceAccount", "name": .string(GatewayNames(gateway: gateway.name).serviceAccount), "namespace": .string(gateway.namespace)]
        ]
        return [DesiredChild(.roles, role), DesiredChild(.roleBindings, binding), kernelServiceAccount(gatewayNames),
                kernelNetworkPolicy(gateway: gateway, gatewayNames: gatewayNames)]
    }

    /// The ServiceAccount the gateway's kernel pods run as (no API token, bound to nothing): the same object for
    /// every notebook of the namespace (no owner, no per-notebook label), so their reconciles never disagree.
    func kernelServiceAccount(_ gatewayNames: GatewayNames) -> DesiredChild {
        var object = factory.make(.serviceAccounts, name: gatewayNames.kernelServiceAccount, owned: false)
        object.labels = [
            ControllerLabels.name: ControllerLabels.appName, ControllerLabels.component: ControllerLabels.kernelComponent,
            ControllerLabels.managedBy: ControllerLabels.managerName, ControllerLabels.gateway: gatewayNames.instanceLabel,
        ]
        object.fields["automountServiceAccountToken"] = false
        return DesiredChild(.serviceAccounts, object)
    }

    /// Only the gateway's pods (in the gateway's namespace) may reach this user's kernel pods here.
    func kernelNetworkPolicy(gateway: GatewayConnection, gatewayNames: GatewayNames) -> DesiredChild {
        var object = factory.make(.networkPolicies, name: names.gatewayAccess)
        let kernels: [String: String] = [
            ControllerLabels.component: ControllerLabels.kernelComponent, ControllerLabels.gateway: gatewayNames.instanceLabel,
            ControllerLabels.userHash: NotebookIdentity.userHash(NotebookIdentity.user(of: input.notebook)),
        ]
        let gatewayPods: [String: String] = [ControllerLabels.component: "gateway", ControllerLabels.gateway: gatewayNames.instanceLabel]
        object.spec = [
            "podSelector": ["matchLabels": KubeJSON(kernels)],
            "policyTypes": ["Ingress"],
            "ingress": [["from": [[
                "namespaceSelector": ["matchLabels": ["kubernetes.io/metadata.name": .string(gateway.namespace)]],
                "podSelector": ["matchLabels": KubeJSON(gatewayPods)],
            ]]]],
        ]
        return DesiredChild(.networkPolicies, object)
    }

    /// The access Role and RoleBinding as children to remove.
    static func gatewayAccessChildren(namespace: String, names: NotebookNames) -> [AbsentChild] {
        [AbsentChild(.roles, namespace: namespace, name: names.gatewayAccess), AbsentChild(.roleBindings, namespace: namespace, name: names.gatewayAccess),
         AbsentChild(.networkPolicies, namespace: namespace, name: names.gatewayAccess)]
    }
}
