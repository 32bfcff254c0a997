import KubernetesAPI

/// `spec` of a JupyterKernelSpec (elastic-jupyter-operator's fields plus resource bounds and user lists).
public struct JupyterKernelSpecSpec: Codable, Sendable, Hashable {
    /// `language` of kernel.json. Default `python`.
    public var language: String?
    /// `display_name`; default the object's name.
    public var displayName: String?
    /// Kernel image.
    public var image: String?
    /// Image pull policy of the kernel container.
    public var imagePullPolicy: String?
    /// Kernel environment (`EnvVar` objects).
    public var env: [KubeJSON]?
    /// `argv` of kernel.json.
    public var command: [String]?
    /// Process proxy class name.
    public var className: String?
    /// `signal` or `message`.
    public var interruptMode: String?
    /// The JupyterKernelTemplate with the pod template.
    public var template: ObjectReference?
    /// Default and maximum resources.
    public var kernelResources: KernelResources?
    /// Users allowed to start this kernel.
    public var authorizedUsers: [String]?
    /// Users refused.
    public var unauthorizedUsers: [String]?
    /// Culling of this kernelspec's kernels, overriding the gateway's (e.g. a GPU profile culled sooner).
    public var cull: Cull?
    /// The launcher's icon: a `data:` URI of a PNG or SVG image (served as `logo-64x64.png` / `logo-svg.svg`).
    public var logo: String?
    /// Requests, limits and client maxima of the kernel container (wins over ``kernelResources`` field by field).
    public var resources: ProfileResources?
    /// GPUs of the kernel: count, resource name, type (a node label) and tolerations.
    public var gpu: ProfileGPU?
    /// Node labels the kernel pod must match (merged over the template's).
    public var nodeSelector: [String: String]?
    /// Tolerations of the kernel pod (added to the template's).
    public var tolerations: [KubeJSON]?
    /// Affinity of the kernel pod (replaces the template's).
    public var affinity: KubeJSON?

    /// Creates an empty spec.
    public init() {}

    /// Culling overrides of one kernelspec (each absent field keeps the gateway's setting).
    public struct Cull: Codable, Sendable, Hashable {
        /// Idle seconds before a kernel is culled; 0 or less: never for idleness.
        public var idleTimeout: Int?
        /// Cull idle kernels even with a client connected (an open tab must not hold a GPU).
        public var connected: Bool?
        /// Cull idle kernels even while they report busy.
        public var busy: Bool?
        /// Seconds after which a kernel is culled even when active; 0: never.
        public var maxAge: Int?

        /// The integer fields, their values and accepted ranges.
        public var rangedFields: [(field: String, value: Int?, range: ClosedRange<Int>)] {
            [("idleTimeout", idleTimeout, -1...31_536_000), ("maxAge", maxAge, 0...31_536_000)]
        }
    }

    /// Default and maximum kernel resources.
    public struct KernelResources: Codable, Sendable, Hashable {
        /// Default CPU request.
        public var cpus: IntOrString?
        /// Default memory request.
        public var memory: IntOrString?
        /// Default GPUs.
        public var gpus: IntOrString?
        /// Largest CPU request a client may make.
        public var maxCpus: IntOrString?
        /// Largest memory request.
        public var maxMemory: IntOrString?
        /// Largest GPU count.
        public var maxGpus: IntOrString?

        /// Creates bounds.
        public init(cpus: IntOrString? = nil, memory: IntOrString? = nil, gpus: IntOrString? = nil) {
            self.cpus = cpus
            self.memory = memory
            self.gpus = gpus
        }
    }
}
