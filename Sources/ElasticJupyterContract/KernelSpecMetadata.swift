/// The keys of a kernelspec's `metadata.elastic_jupyter` object in `kernel.json`: what the controller renders
/// from a JupyterKernelSpec and the gateway reads when it starts a kernel.
public enum KernelSpecMetadata {
    /// The object's own key in `metadata`.
    public static let section = "elastic_jupyter"
    /// `"kubernetes"` or `"local"`: where the kernel runs (overrides EG's `process_proxy.class_name`).
    public static let provisioner = "provisioner"
    /// The kernel image (overrides `process_proxy.config.image_name`).
    public static let image = "image"
    /// Further image patterns a client's `KERNEL_IMAGE` may name.
    public static let allowedImages = "allowed_images"
    /// Volumes (an array of names) a client's `KERNEL_VOLUMES` may use with this kernelspec.
    public static let allowedVolumes = "allowed_volumes"
    /// File name of the kernel pod template inside the kernelspec directory (default ``defaultPodTemplate``).
    public static let podTemplate = "pod_template"
    /// Default resource requests: an object with ``cpus``, ``memory`` and ``gpus``.
    public static let resources = "resources"
    /// Default resource limits: an object with ``cpus`` and ``memory``.
    public static let limits = "limits"
    /// Largest CPU amount a request or limit may name (a quantity).
    public static let maxCPUs = "max_cpus"
    /// Largest memory amount a request or limit may name (a quantity).
    public static let maxMemory = "max_memory"
    /// Largest GPU count a request may name.
    public static let maxGPUs = "max_gpus"
    /// The extended resource of ``gpus`` (default `nvidia.com/gpu`, e.g. `amd.com/gpu`).
    public static let gpuResource = "gpu_resource"
    /// Seconds of idleness after which kernels of this kernelspec are culled (overrides the gateway's).
    public static let cullIdleTimeout = "cull_idle_timeout"
    /// Whether kernels with connected clients are culled (overrides the gateway's).
    public static let cullConnected = "cull_connected"
    /// Whether busy kernels are culled (overrides the gateway's).
    public static let cullBusy = "cull_busy"
    /// Seconds after which kernels of this kernelspec are culled even when active (overrides the gateway's).
    public static let cullMaxAge = "cull_max_age"

    /// Key of the CPU amount in ``resources`` and ``limits``.
    public static let cpus = "cpus"
    /// Key of the memory amount in ``resources`` and ``limits``.
    public static let memory = "memory"
    /// Key of the GPU count in ``resources``.
    public static let gpus = "gpus"

    /// ``provisioner`` value of kernels run as pods.
    public static let kubernetesProvisioner = "kubernetes"
    /// ``provisioner`` value of kernels run as local processes.
    public static let localProvisioner = "local"
    /// The pod template's file name when ``podTemplate`` is absent.
    public static let defaultPodTemplate = "pod.yaml"

    /// The `max_…` key bounding the amount stored under `key` (``cpus``, ``memory`` or ``gpus``).
    public static func maximum(of key: String) -> String { "max_" + key }
}
