extension ResourceDescriptor {
    /// `v1` pods.
    public static let pods = core("pods", "Pod")
    /// `v1` secrets.
    public static let secrets = core("secrets", "Secret")
    /// `v1` configmaps.
    public static let configMaps = core("configmaps", "ConfigMap")
    /// `v1` services.
    public static let services = core("services", "Service")
    /// `v1` serviceaccounts.
    public static let serviceAccounts = core("serviceaccounts", "ServiceAccount")
    /// `v1` events (core group).
    public static let events = core("events", "Event")
    /// `v1` persistentvolumeclaims.
    public static let persistentVolumeClaims = core("persistentvolumeclaims", "PersistentVolumeClaim")
    /// `storage.k8s.io/v1` storageclasses (cluster-scoped).
    public static let storageClasses = ResourceDescriptor(
        group: "storage.k8s.io", version: "v1", plural: "storageclasses", kind: "StorageClass", namespaced: false)
    /// `v1` namespaces (cluster-scoped).
    public static let namespaces = ResourceDescriptor(
        group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    /// `apps/v1` deployments.
    public static let deployments = ResourceDescriptor(
        group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true)
    /// `rbac.authorization.k8s.io/v1` roles.
    public static let roles = rbac("roles", "Role", namespaced: true)
    /// `rbac.authorization.k8s.io/v1` rolebindings.
    public static let roleBindings = rbac("rolebindings", "RoleBinding", namespaced: true)
    /// `rbac.authorization.k8s.io/v1` clusterroles (cluster-scoped).
    public static let clusterRoles = rbac("clusterroles", "ClusterRole", namespaced: false)
    /// `rbac.authorization.k8s.io/v1` clusterrolebindings (cluster-scoped).
    public static let clusterRoleBindings = rbac("clusterrolebindings", "ClusterRoleBinding", namespaced: false)
    /// `networking.k8s.io/v1` networkpolicies.
    public static let networkPolicies = ResourceDescriptor(
        group: "networking.k8s.io", version: "v1", plural: "networkpolicies", kind: "NetworkPolicy", namespaced: true)
    /// `networking.k8s.io/v1` ingresses.
    public static let ingresses = ResourceDescriptor(
        group: "networking.k8s.io", version: "v1", plural: "ingresses", kind: "Ingress", namespaced: true)
    /// `coordination.k8s.io/v1` leases.
    public static let leases = ResourceDescriptor(
        group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)
    /// `apiextensions.k8s.io/v1` customresourcedefinitions (cluster-scoped).
    public static let customResourceDefinitions = ResourceDescriptor(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition", namespaced: false)

    /// A namespaced core (`v1`) resource.
    private static func core(_ plural: String, _ kind: String) -> ResourceDescriptor {
        ResourceDescriptor(group: "", version: "v1", plural: plural, kind: kind, namespaced: true)
    }

    /// An RBAC resource.
    private static func rbac(_ plural: String, _ kind: String, namespaced: Bool) -> ResourceDescriptor {
        ResourceDescriptor(
            group: "rbac.authorization.k8s.io", version: "v1", plural: plural, kind: kind, namespaced: namespaced)
    }

    /// A custom resource.
    /// - Parameters:
    ///   - group: API group of the CRD.
    ///   - version: Served version.
    ///   - plural: Plural name (`spec.names.plural`).
    ///   - kind: Kind (`spec.names.kind`).
    ///   - namespaced: `spec.scope == Namespaced`.
    public static func custom(
        group: String, version: String, plural: String, kind: String, namespaced: Bool = true
    ) -> ResourceDescriptor {
        ResourceDescriptor(group: group, version: version, plural: plural, kind: kind, namespaced: namespaced)
    }
}
