import KubernetesAPI

extension JupyterKernelSpecSpec {
    /// `spec.resources` of a profile: what the kernel container asks for by default, its limits, and the most a
    /// client may ask for (`KERNEL_CPUS`, `KERNEL_MEMORY`). Each field set here wins over the same field of
    /// ``KernelResources`` (`kernelResources`), which keeps working for the fields left out.
    public struct ProfileResources: Codable, Sendable, Hashable {
        /// Default requests (a client's `KERNEL_CPUS` / `KERNEL_MEMORY` replace them, within ``max``).
        public var requests: Amounts?
        /// Limits when neither the client (`KERNEL_*_LIMIT`) nor the pod template sets one; raised to the
        /// request when a client asks for more, never above ``max``.
        public var limits: Amounts?
        /// The largest request or limit a client may ask for (at most the gateway's `kernelPolicy.maxResources`).
        public var max: Amounts?
    }

    /// CPU and memory amounts (Kubernetes quantities).
    public struct Amounts: Codable, Sendable, Hashable {
        /// CPU (`500m`, `2`).
        public var cpu: IntOrString?
        /// Memory (`1Gi`).
        public var memory: IntOrString?

        /// The set amounts by Kubernetes resource name (`cpu`, `memory`).
        var byResource: [(resource: String, value: IntOrString)] {
            [("cpu", cpu), ("memory", memory)].compactMap { entry in entry.1.map { (entry.0, $0) } }
        }
    }

    /// `spec.gpu` of a profile: how many GPUs of which kind, and where they are.
    public struct ProfileGPU: Codable, Sendable, Hashable {
        /// GPUs each kernel gets by default (the extended resource's request and limit).
        public var count: Int?
        /// The most a client may ask for with `KERNEL_GPUS`; default ``count``.
        public var max: Int?
        /// The extended resource (default `nvidia.com/gpu`).
        public var resourceName: String?
        /// The GPU model: the value of the node label ``typeLabel`` the kernel pod selects.
        public var type: String?
        /// The node label naming the GPU model (default `nvidia.com/gpu.product`, as NVIDIA's GPU feature discovery sets it).
        public var typeLabel: String?
        /// Tolerations of GPU nodes' taints; default one tolerating any `NoSchedule` taint keyed by the resource name.
        public var tolerations: [KubeJSON]?

        /// Default of ``resourceName``.
        public static let defaultResourceName = "nvidia.com/gpu"
        /// Default of ``typeLabel``.
        public static let defaultTypeLabel = "nvidia.com/gpu.product"
        /// Largest ``count`` and ``max``.
        public static let maximumCount = 64

        /// The resource name in effect.
        public var resource: String { resourceName.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultResourceName }
        /// The most GPUs a kernel may get: ``max``, else ``count``.
        public var most: Int { max ?? count ?? 0 }
        /// Whether the kernel pod may get a GPU at all (and so goes to GPU nodes).
        public var wanted: Bool { most > 0 }

        /// The tolerations in effect when ``wanted``.
        public var tolerationsInEffect: [KubeJSON] {
            tolerations ?? [["key": .string(resource), "operator": "Exists", "effect": "NoSchedule"]]
        }
    }
}
