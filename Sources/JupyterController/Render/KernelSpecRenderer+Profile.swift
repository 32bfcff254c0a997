import ElasticJupyterContract
import KubernetesAPI

/// A JupyterKernelSpec's profile fields (`resources`, `gpu`, `nodeSelector`, `tolerations`, `affinity`) as the
/// kernelspec metadata and pod template the gateway honours.
extension KernelSpecRenderer {
    /// The resource entries of `metadata.elastic_jupyter`: default requests (`resources`), default limits
    /// (`limits`), client maxima (`max_*`) and the GPU resource name. `spec.resources` and `spec.gpu` win over
    /// `spec.kernelResources` field by field; a maximum neither names is the gateway's `kernelPolicy.maxResources`
    /// (so a client can never ask for more than the gateway allows); a GPU maximum defaults to the kernelspec's GPU
    /// count (`gpu.count`, else `kernelResources.gpus`), else 0: no client gets a GPU from a kernelspec without one.
    /// - Parameters:
    ///   - spec: The kernelspec's spec.
    ///   - policy: The gateway's kernel policy.
    static func resourceMetadata(_ spec: JupyterKernelSpecSpec, policy: KernelPolicy) -> [String: KubeJSON] {
        let old = spec.kernelResources
        let requests = spec.resources?.requests
        let limits = spec.resources?.limits
        let most = spec.resources?.max
        let gpuResource = spec.gpu?.resource ?? JupyterKernelSpecSpec.ProfileGPU.defaultResourceName
        let maxima = policy.maxResources ?? KernelPolicy.defaultMaxResources
        var ours: [String: KubeJSON] = [:]

        var defaults: [String: KubeJSON] = [:]
        defaults[KernelSpecMetadata.cpus] = text(requests?.cpu ?? old?.cpus)
        defaults[KernelSpecMetadata.memory] = text(requests?.memory ?? old?.memory)
        if let count = spec.gpu?.count {
            // `gpu.count: 0` means no GPU by default (not a request of zero), whatever kernelResources says.
            defaults[KernelSpecMetadata.gpus] = count > 0 ? .string(String(count)) : nil
        } else {
            defaults[KernelSpecMetadata.gpus] = text(old?.gpus)
        }
        if !defaults.isEmpty { ours[KernelSpecMetadata.resources] = .object(defaults) }

        var defaultLimits: [String: KubeJSON] = [:]
        defaultLimits[KernelSpecMetadata.cpus] = text(limits?.cpu)
        defaultLimits[KernelSpecMetadata.memory] = text(limits?.memory)
        if !defaultLimits.isEmpty { ours[KernelSpecMetadata.limits] = .object(defaultLimits) }

        ours[KernelSpecMetadata.maxCPUs] = text(most?.cpu ?? old?.maxCpus ?? maxima["cpu"])
        ours[KernelSpecMetadata.maxMemory] = text(most?.memory ?? old?.maxMemory ?? maxima["memory"])
        if let gpu = spec.gpu, gpu.max != nil || gpu.count != nil {
            ours[KernelSpecMetadata.maxGPUs] = .string(String(gpu.most))
        } else {
            ours[KernelSpecMetadata.maxGPUs] = text(old?.maxGpus ?? old?.gpus ?? .int(0))
        }
        if gpuResource != JupyterKernelSpecSpec.ProfileGPU.defaultResourceName {
            ours[KernelSpecMetadata.gpuResource] = .string(gpuResource)
        }
        return ours
    }

    /// Whether the kernelspec sets a scheduling field of the pod (so it needs a pod template).
    static func hasScheduling(_ spec: JupyterKernelSpecSpec) -> Bool {
        !(spec.nodeSelector ?? [:]).isEmpty || !(spec.tolerations ?? []).isEmpty || spec.affinity != nil || spec.gpu?.wanted == true
    }

    /// The pod spec with the profile's scheduling fields: node selector entries (the GPU type label last) over
    /// the template's, tolerations after the template's (without repeats), the profile's affinity instead of the
    /// template's.
    static func schedule(_ podSpec: KubeJSON, spec: JupyterKernelSpecSpec) -> KubeJSON {
        var result = podSpec
        var selector = podSpec["nodeSelector"]?.objectValue ?? [:]
        for (key, value) in spec.nodeSelector ?? [:] { selector[key] = .string(value) }
        var tolerations = podSpec["tolerations"]?.arrayValue ?? []
        var added = spec.tolerations ?? []
        if let gpu = spec.gpu, gpu.wanted {
            if let type = nonEmpty(gpu.type) { selector[nonEmpty(gpu.typeLabel) ?? JupyterKernelSpecSpec.ProfileGPU.defaultTypeLabel] = .string(type) }
            added += gpu.tolerationsInEffect
        }
        for toleration in added where !tolerations.contains(toleration) { tolerations.append(toleration) }
        if !selector.isEmpty { result["nodeSelector"] = .object(selector) }
        if !tolerations.isEmpty { result["tolerations"] = .array(tolerations) }
        if let affinity = spec.affinity { result["affinity"] = affinity }
        return result
    }

    static func text(_ value: IntOrString?) -> KubeJSON? {
        value.map { .string($0.description) }
    }
}
