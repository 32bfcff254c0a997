/// Cluster-wide choices of the renderers (images from the `controller` command's flags).
public struct RenderSettings: Sendable, Hashable {
    /// Gateway image when a JupyterGateway names none.
    public var gatewayImage: String
    /// JupyterLab image when a JupyterNotebook names none.
    public var notebookImage: String
    /// Kernel image when neither the gateway nor a kernelspec names one.
    public var kernelImage: String
    /// The most replicas a gateway Deployment gets; `spec.replicas` above it is clamped (condition
    /// `ReplicasClamped`). Default ``maximumGatewayReplicas``; tests raise it to render multi-replica gateways.
    public var gatewayReplicaLimit: Int

    /// Default gateway image: the one the `Dockerfile` builds.
    public static let defaultGatewayImage = "ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0"
    /// Default JupyterLab image (a stock Jupyter image; its own start command is kept).
    public static let defaultNotebookImage = "quay.io/jupyter/base-notebook:python-3.12"
    /// Default kernel image: the one `images/kernel/Dockerfile` builds (any image with ipykernel will do).
    public static let defaultKernelImage = "ghcr.io/elastic-jupyter/python-kernel:0.1.0"
    /// The most replicas the controller runs per JupyterGateway. Any replica serves any kernel (kernel state is
    /// on the pods; one Lease per replica, ownership on each kernel pod), so more replicas only bound the API
    /// traffic (each replica watches every kernel pod); everything that depends on it (the Deployment's replicas,
    /// the PodDisruptionBudget, `ReplicasClamped`) follows the effective count.
    public static let maximumGatewayReplicas = 10

    /// Creates settings.
    /// - Parameters:
    ///   - gatewayImage: Gateway image.
    ///   - notebookImage: JupyterLab image.
    ///   - kernelImage: Kernel image.
    ///   - gatewayReplicaLimit: The most gateway replicas. Default ``maximumGatewayReplicas``.
    public init(
        gatewayImage: String = defaultGatewayImage, notebookImage: String = defaultNotebookImage,
        kernelImage: String = defaultKernelImage, gatewayReplicaLimit: Int = maximumGatewayReplicas
    ) {
        self.gatewayImage = gatewayImage
        self.notebookImage = notebookImage
        self.kernelImage = kernelImage
        self.gatewayReplicaLimit = gatewayReplicaLimit
    }
}
