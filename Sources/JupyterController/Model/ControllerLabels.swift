import ElasticJupyterContract

/// Label, annotation and finalizer names the controller writes and selects on. Those it shares with kernel pods
/// come from ``KernelPodLabels``, the one definition the gateway uses too.
public enum ControllerLabels {
    /// `app.kubernetes.io/name`: always `elastic-jupyter`.
    public static let name = KernelPodLabels.name
    /// `app.kubernetes.io/component`: `gateway`, `notebook` or `kernel`.
    public static let component = KernelPodLabels.component
    /// `app.kubernetes.io/instance`: the custom resource's name.
    public static let instance = "app.kubernetes.io/instance"
    /// `app.kubernetes.io/managed-by`: ``managerName`` on every child.
    public static let managedBy = "app.kubernetes.io/managed-by"
    /// The gateway instance (the gateway's `EG_NAME`); kernel pods carry it too.
    public static let gateway = KernelPodLabels.gateway
    /// The notebook; kernel pods carry it (from `KERNEL_NOTEBOOK`).
    public static let notebook = KernelPodLabels.notebook
    /// The user of a kernel pod.
    public static let user = KernelPodLabels.user
    /// The user of a kernel pod, as ``NotebookIdentity/userHash(_:)`` (written by the gateway).
    public static let userHash = KernelPodLabels.userHashLabel

    /// Value of `app.kubernetes.io/name`.
    public static let appName = KernelPodLabels.appName
    /// Value of `app.kubernetes.io/component` on kernel pods.
    public static let kernelComponent = KernelPodLabels.kernelComponent
    /// Value of `app.kubernetes.io/managed-by`, and the source component of Events.
    public static let managerName = "elastic-jupyter-controller"

    /// Kernel-pod annotation telling the gateway a pod is deleted on purpose (`shutdown`): the gateway drops the
    /// kernel instead of relaunching it (the gateway's `KernelPodLabels.endingAnnotation`).
    public static let kernelEndingAnnotation = "elastic-jupyter.io/ending"

    /// Annotation holding the hash of what the controller last applied to a child.
    public static let appliedHashAnnotation = "elastic-jupyter.io/applied-hash"
    /// Pod-template annotation holding a hash of the Secrets a pod reads at start (a change rolls the pods).
    public static let configHashAnnotation = "elastic-jupyter.io/config-hash"

    /// Finalizer on a JupyterGateway: its kernel pods are deleted before it goes.
    public static let gatewayFinalizer = "elastic-jupyter.io/kernel-pods"
    /// Finalizer on a JupyterNotebook: its kernels are shut down before it goes.
    public static let notebookFinalizer = "elastic-jupyter.io/notebook-kernels"

    /// Selector of every child the controller manages.
    public static var managedSelector: String { "\(managedBy)=\(managerName)" }
    /// Selector of every kernel pod.
    public static var kernelPodSelector: String { KernelPodLabels.selector }

    /// A valid label value (``KernelPodLabels/labelValue(_:)``, the rule the gateway applies to `EG_NAME` and
    /// `KERNEL_NOTEBOOK`).
    public static func labelValue(_ text: String) -> String {
        KernelPodLabels.labelValue(text)
    }

    /// The selector of one gateway's kernel pods (its instance label only).
    public static func kernelPodSelector(gateway: String) -> String {
        KernelPodLabels.selector(gateway: gateway)
    }

    /// The selector of one user's kernel pods on a gateway.
    public static func kernelPodSelector(gateway: String, userHash: String) -> String {
        KernelPodLabels.selector(gateway: gateway, userHash: userHash)
    }

    /// The selector of one notebook's kernel pods on a gateway.
    public static func kernelPodSelector(gateway: String, notebook: String) -> String {
        KernelPodLabels.selector(gateway: gateway, notebook: notebook)
    }
}
