import KubernetesAPI

/// The checks of a JupyterKernelSpec's profile fields (`logo`, `resources`, `kernelResources`, `gpu`,
/// `nodeSelector`, `tolerations`, `affinity`): well-formed, bounded and within the gateway's
/// `kernelPolicy.maxResources`. A refused kernelspec is left out of the gateway with a condition naming the field.
extension KernelPodPolicy {
    /// Most node selector entries and tolerations of a profile.
    static let maximumSchedulingEntries = 32
    /// Largest affinity, as JSON text.
    static let maximumAffinityBytes = 16 * 1024

    /// Refused profile fields of a kernelspec.
    func profileRefusals(_ spec: JupyterKernelSpecSpec) -> [String] {
        var refused: [String] = []
        if let logo = spec.logo {
            do { _ = try KernelSpecLogo(logo) } catch { refused.append("spec.logo (\(error))") }
        }
        refused += resourceRefusals(spec)
        if let gpu = spec.gpu { refused += gpuRefusals(gpu) }
        let selector = spec.nodeSelector ?? [:]
        if selector.count > Self.maximumSchedulingEntries { refused.append("spec.nodeSelector (at most \(Self.maximumSchedulingEntries) entries)") }
        for (key, value) in selector.sorted(by: { $0.key < $1.key }) where !Self.isLabelKey(key) || !Self.isLabelValue(value) {
            refused.append("spec.nodeSelector[\(Self.shown(key))] (not a label key and value)")
        }
        refused += tolerationRefusals(spec.tolerations ?? [], path: "spec.tolerations")
        if let affinity = spec.affinity {
            if affinity.objectValue == nil || CanonicalJSON.text(affinity).utf8.count > Self.maximumAffinityBytes {
                refused.append("spec.affinity (an object of at most \(Self.maximumAffinityBytes) bytes)")
            }
        }
        return refused
    }

    /// Quantities that parse, are not negative, stay within the policy's maxima (a resource without one may not be
    /// set), and requests within limits and maxima.
    func resourceRefusals(_ spec: JupyterKernelSpecSpec) -> [String] {
        let maxima = policy.maxResources ?? KernelPolicy.defaultMaxResources
        var refused: [String] = []
        var amounts: [String: Double] = [:]
        let old = spec.kernelResources
        let oldFields: [(String, IntOrString?)] = [
            ("cpus", old?.cpus), ("memory", old?.memory), ("gpus", old?.gpus),
            ("maxCpus", old?.maxCpus), ("maxMemory", old?.maxMemory), ("maxGpus", old?.maxGpus),
        ]
        for (field, value) in oldFields {
            if let value, Quantity.amount(value.description) == nil { refused.append("spec.kernelResources.\(field) (not a quantity)") }
        }
        // GPUs by kernelResources (when spec.gpu is absent) need the policy's consent as spec.gpu does.
        let gpuMost = [old?.gpus, old?.maxGpus].compactMap { $0.flatMap { Quantity.amount($0.description) } }.max() ?? 0
        let gpuAllowed = maxima[JupyterKernelSpecSpec.ProfileGPU.defaultResourceName].flatMap { Quantity.amount($0.description) } ?? 0
        if spec.gpu == nil, gpuMost > gpuAllowed {
            refused.append("spec.kernelResources (GPUs above the gateway's kernelPolicy.maxResources of nvidia.com/gpu)")
        }
        let resources = spec.resources
        for (part, group) in [("requests", resources?.requests), ("limits", resources?.limits), ("max", resources?.max)] {
            for (resource, value) in group?.byResource ?? [] {
                let path = "spec.resources.\(part).\(resource)"
                guard let amount = Quantity.amount(value.description) else {
                    refused.append("\(path) (not a quantity)")
                    continue
                }
                amounts["\(part).\(resource)"] = amount
                // As for a template: a resource the policy names no maximum for may not be set at all.
                guard let maximum = maxima[resource], let most = Quantity.amount(maximum.description) else {
                    refused.append("\(path) (the gateway's kernelPolicy.maxResources has no maximum for \(resource))")
                    continue
                }
                if amount > most {
                    refused.append("\(path) (above the gateway's kernelPolicy.maxResources.\(resource) of \(maximum))")
                }
            }
        }
        for resource in ["cpu", "memory"] {
            if let request = amounts["requests.\(resource)"], let limit = amounts["limits.\(resource)"], request > limit {
                refused.append("spec.resources.requests.\(resource) (above spec.resources.limits.\(resource))")
            }
            if let request = amounts["requests.\(resource)"], let most = amounts["max.\(resource)"], request > most {
                refused.append("spec.resources.requests.\(resource) (above spec.resources.max.\(resource))")
            }
        }
        return refused
    }

    /// A count in range, an extended resource name, a label key and value, and the policy's consent.
    func gpuRefusals(_ gpu: JupyterKernelSpecSpec.ProfileGPU) -> [String] {
        var refused: [String] = []
        let range = 0...JupyterKernelSpecSpec.ProfileGPU.maximumCount
        for (field, value) in [("count", gpu.count), ("max", gpu.max)] {
            if let value, !range.contains(value) { refused.append("spec.gpu.\(field) (between 0 and \(range.upperBound))") }
        }
        if let count = gpu.count, let most = gpu.max, count > most { refused.append("spec.gpu.count (above spec.gpu.max)") }
        let resource = gpu.resource
        guard Self.isLabelKey(resource), resource.contains("/"), !resource.hasPrefix("kubernetes.io/") else {
            return refused + ["spec.gpu.resourceName (an extended resource such as nvidia.com/gpu)"]
        }
        if let type = gpu.type, !Self.isLabelValue(type) { refused.append("spec.gpu.type (not a label value)") }
        if let label = gpu.typeLabel, !Self.isLabelKey(label) { refused.append("spec.gpu.typeLabel (not a label key)") }
        refused += tolerationRefusals(gpu.tolerations ?? [], path: "spec.gpu.tolerations")
        let maxima = policy.maxResources ?? KernelPolicy.defaultMaxResources
        if gpu.wanted {
            let most = maxima[resource].flatMap { Quantity.amount($0.description) } ?? 0
            if Double(gpu.most) > most {
                refused.append("spec.gpu (\(gpu.most) \(resource) above the gateway's kernelPolicy.maxResources of \(Int(most)))")
            }
        }
        return refused
    }

    /// Tolerations: at most ``maximumSchedulingEntries``, each with a known operator and effect, a label key (or
    /// none, with `Exists`: every taint), a label value and whole seconds.
    func tolerationRefusals(_ tolerations: [KubeJSON], path: String) -> [String] {
        guard tolerations.count <= Self.maximumSchedulingEntries else {
            return ["\(path) (at most \(Self.maximumSchedulingEntries) entries)"]
        }
        var refused: [String] = []
        for (index, toleration) in tolerations.enumerated() {
            let known: Set<String> = ["key", "operator", "value", "effect", "tolerationSeconds"]
            let keys = Set(toleration.objectValue?.keys.map { $0 } ?? [])
            let key = toleration["key"]?.stringValue ?? ""
            let fine = toleration.objectValue != nil && keys.isSubset(of: known)
                && ["", "Exists", "Equal"].contains(toleration["operator"]?.stringValue ?? "")
                && ["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(toleration["effect"]?.stringValue ?? "")
                && (key.isEmpty ? toleration["operator"]?.stringValue == "Exists" : Self.isLabelKey(key))
                && Self.isLabelValue(toleration["value"]?.stringValue ?? "")
                && (toleration["tolerationSeconds"] == nil || toleration["tolerationSeconds"]?.intValue != nil)
            if !fine { refused.append("\(path)[\(index)]") }
        }
        return refused
    }

    /// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
    static func isLabelKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, !name.isEmpty, isLabelValue(String(name)) else { return false }
        guard parts.count == 2 else { return true }
        let prefix = parts[0]
        return !prefix.isEmpty && prefix.utf8.count <= 253
            && prefix.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            }
    }

    /// A label value: empty, or at most 63 alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
    static func isLabelValue(_ value: String) -> Bool {
        guard !value.isEmpty else { return true }
        let bytes = Array(value.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
        }
        return bytes.count <= 63 && alphanumeric(bytes[0]) && alphanumeric(bytes[bytes.count - 1])
            && bytes.allSatisfy { alphanumeric($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
    }

    /// A key as shown in a refusal: at most 64 characters.
    static func shown(_ key: String) -> String {
        key.count > 64 ? String(key.prefix(64)) + "…" : key
    }
}
