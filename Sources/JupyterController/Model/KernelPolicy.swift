import KubernetesAPI

/// `spec.kernelPolicy` of a JupyterGateway: what its JupyterKernelSpecs and JupyterKernelTemplates may put on
/// kernel pods beyond the always-allowed image, resources, node selector, affinity, tolerations and plain env.
/// Everything not allowed is refused (see ``KernelPodPolicy``).
public struct KernelPolicy: Codable, Sendable, Hashable {
    /// Volume types a template may use (e.g. `emptyDir`, `configMap`, `persistentVolumeClaim`, `secret`).
    /// Default `emptyDir` and `configMap`. `hostPath` is never allowed.
    public var allowedVolumeTypes: [String]?
    /// Secrets (of the gateway's namespace) a kernelspec or template may reference: env `secretKeyRef`,
    /// `envFrom.secretRef`, `secret` volumes, `imagePullSecrets`. Default none.
    public var allowedSecrets: [String]?
    /// Most a kernel container may request or limit, per resource (`cpu`, `memory`, `nvidia.com/gpu`, …).
    /// A resource without a maximum here may not be set by a template at all.
    public var maxResources: [String: IntOrString]?

    /// Creates a policy.
    public init(allowedVolumeTypes: [String]? = nil, allowedSecrets: [String]? = nil, maxResources: [String: IntOrString]? = nil) {
        self.allowedVolumeTypes = allowedVolumeTypes
        self.allowedSecrets = allowedSecrets
        self.maxResources = maxResources
    }

    /// Volume types allowed when the gateway lists none.
    public static let defaultVolumeTypes = ["emptyDir", "configMap"]
    /// Resource maxima when the gateway lists none.
    public static let defaultMaxResources: [String: IntOrString] = ["cpu": .string("8"), "memory": .string("32Gi")]
}
