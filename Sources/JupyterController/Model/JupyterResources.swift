import KubernetesAPI

/// The custom resources served by the controller: group `kubeflow.tkestack.io`, version `v1alpha1`
/// (the API of elastic-jupyter-operator, which these CRDs extend compatibly).
public enum JupyterResources {
    /// API group of every custom resource.
    public static let group = "kubeflow.tkestack.io"
    /// Served and stored version.
    public static let version = "v1alpha1"
    /// `apiVersion` of the custom resources.
    public static var apiVersion: String { "\(group)/\(version)" }

    /// `jupytergateways`.
    public static let gateways = custom("jupytergateways", "JupyterGateway")
    /// `jupyternotebooks`.
    public static let notebooks = custom("jupyternotebooks", "JupyterNotebook")
    /// `jupyterkernelspecs`.
    public static let kernelSpecs = custom("jupyterkernelspecs", "JupyterKernelSpec")
    /// `jupyterkerneltemplates`.
    public static let kernelTemplates = custom("jupyterkerneltemplates", "JupyterKernelTemplate")
    /// `jupyterkernels` (schema only: kernels run as bare pods).
    public static let kernels = custom("jupyterkernels", "JupyterKernel")

    private static func custom(_ plural: String, _ kind: String) -> ResourceDescriptor {
        .custom(group: group, version: version, plural: plural, kind: kind)
    }
}
