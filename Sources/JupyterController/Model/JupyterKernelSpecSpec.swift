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

    /// Creates an empty spec.
    public init() {}

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
