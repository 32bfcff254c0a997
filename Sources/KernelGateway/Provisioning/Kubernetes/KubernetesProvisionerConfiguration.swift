import ElasticJupyterContract
import Foundation

/// Settings of kernels that run as Kubernetes pods.
public struct KubernetesProvisionerConfiguration: Sendable {
    /// Namespace of kernel pods (EG_NAMESPACE; kernels share it: EG_SHARED_NAMESPACE semantics).
    public var namespace: String
    /// This gateway's instance name (EG_NAME): a label on every kernel pod, so two gateways in one
    /// namespace never touch each other's pods.
    public var gatewayName: String
    /// Service account of kernel pods: unprivileged, no API token mounted.
    public var kernelServiceAccount: String
    /// Image used when neither the request (when allowed) nor the kernelspec names one (EG_KERNEL_IMAGE).
    public var defaultImage: String?
    /// Image patterns (`*` matches any run of characters, `?` one) a client's `KERNEL_IMAGE` may name, besides
    /// the kernelspec's own image and its `allowed_images`; empty (the default) = the kernelspec's image only.
    public var allowedImages: [String]
    /// Volumes (by name) that `KERNEL_VOLUMES` may use; empty = none.
    public var allowedVolumeNames: Set<String>
    /// A PersistentVolumeClaim shared with the notebooks, mounted into every kernel pod, if any.
    public var workspaceClaim: String?
    /// Where the workspace claim is mounted.
    public var workspaceMountPath: String
    /// Where the connection-file Secret is mounted.
    public var connectionMountPath: String
    /// The five fixed kernel ports (shell, iopub, stdin, control, hb): each pod has its own IP.
    public var kernelPorts: [Int]
    /// User id kernels run as, unless the request's `KERNEL_UID` says otherwise (0 is refused).
    public var defaultUID: Int
    /// Group id kernels run as (`KERNEL_GID`).
    public var defaultGID: Int
    /// User and group ids a kernel may run as, and those it never may: see ``KernelIdentityPolicy``.
    public var identity: KernelIdentityPolicy
    /// CPU limit of a kernel whose request, template and kernelspec set none (raised to its request); nil = none.
    public var defaultCPULimit: String?
    /// This replica's identity (`--replica-id`): kernel pods it starts name it as their owner.
    public var replicaID: String = ProcessInfo.processInfo.hostName
    /// Seconds between writes of a kernel's last-activity annotation (per kernel and replica): how other replicas
    /// (and the next gateway) learn of its use. At most 60; a fourth of the idle timeout when culling is shorter.
    public var activityAnnotationInterval: TimeInterval = 60
    /// Memory limit of a kernel whose request, template and kernelspec set none (raised to its request); nil = none.
    public var defaultMemoryLimit: String?

    /// Creates the configuration with defaults for a shared namespace.
    public init(namespace: String, gatewayName: String = "elastic-jupyter", kernelServiceAccount: String = "elastic-jupyter-kernel",
                defaultImage: String? = nil, allowedImages: [String] = [], allowedVolumeNames: Set<String> = [],
                workspaceClaim: String? = nil, workspaceMountPath: String = "/home/jovyan/work",
                connectionMountPath: String = "/etc/jupyter-kernel", kernelPorts: [Int] = [52700, 52701, 52702, 52703, 52704],
                defaultUID: Int = 1000, defaultGID: Int = 100, identity: KernelIdentityPolicy = KernelIdentityPolicy(),
                defaultCPULimit: String? = "2", defaultMemoryLimit: String? = "2Gi") {
        self.namespace = namespace
        self.gatewayName = gatewayName
        self.kernelServiceAccount = kernelServiceAccount
        self.defaultImage = defaultImage
        self.allowedImages = allowedImages
        self.allowedVolumeNames = allowedVolumeNames
        self.workspaceClaim = workspaceClaim
        self.workspaceMountPath = workspaceMountPath
        self.connectionMountPath = connectionMountPath
        self.kernelPorts = kernelPorts
        self.defaultUID = defaultUID
        self.defaultGID = defaultGID
        self.identity = identity
        self.defaultCPULimit = defaultCPULimit
        self.defaultMemoryLimit = defaultMemoryLimit
    }

    /// The label selector of this gateway's kernel pods (its one watch).
    public var podSelector: String {
        KernelPodLabels.selector(gateway: gatewayName)
    }
}
