/// Cluster-wide choices of the renderers (from the `controller` command's flags).
public struct RenderSettings: Sendable, Hashable {
    /// Gateway image when a JupyterGateway names none.
    public var gatewayImage: String
    /// JupyterLab image when a JupyterNotebook names none.
    public var notebookImage: String
    /// Kernel image when neither the gateway nor a kernelspec names one.
    public var kernelImage: String

    /// Default gateway image.
    public static let defaultGatewayImage = "ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0"
    /// Default JupyterLab image (a stock Jupyter image; its own start command is kept).
    public static let defaultNotebookImage = "quay.io/jupyter/base-notebook:python-3.12"
    /// Default kernel image (any image with ipykernel).
    public static let defaultKernelImage = "quay.io/jupyter/base-notebook:python-3.12"

    /// Creates settings.
    /// - Parameters:
    ///   - gatewayImage: Gateway image.
    ///   - notebookImage: JupyterLab image.
    ///   - kernelImage: Kernel image.
    public init(
        gatewayImage: String = defaultGatewayImage, notebookImage: String = defaultNotebookImage,
        kernelImage: String = defaultKernelImage
    ) {
        self.gatewayImage = gatewayImage
        self.notebookImage = notebookImage
        self.kernelImage = kernelImage
    }
}
