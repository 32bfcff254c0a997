import ElasticJupyterContract
import JupyterProtocol
import KubernetesAPI

/// The `resources` of a kernel's container: the pod template's, with the request's and the kernelspec's
/// values merged in (never replacing the template's other entries), and a CPU and memory limit always set.
///
/// Requests come from `KERNEL_CPUS` / `KERNEL_MEMORY` / `KERNEL_GPUS`, else the kernelspec's `resources`
/// (`cpus`, `memory`, `gpus`), else the template. Limits come from `KERNEL_*_LIMIT`, else the template, else
/// the kernelspec's `limits` (`cpus`, `memory`), else the gateway's default; a default limit is raised to the
/// request, while a limit the client or template chose below the request refuses the start. Every requested
/// amount is checked against the kernelspec's `max_cpus` / `max_memory` / `max_gpus`. GPUs are the extended
/// resource the kernelspec's `gpu_resource` names (default `nvidia.com/gpu`).
struct KernelPodResources: Sendable {
    /// The gateway's default limits (`--kernel-cpu-limit`, `--kernel-memory-limit`).
    let defaultCPULimit: String?
    let defaultMemoryLimit: String?

    struct Kind {
        let variable: String
        let key: String
        let resource: String
    }

    /// The three amounts, the GPUs as the kernelspec's extended resource.
    static func kinds(gpuResource: String) -> [Kind] {
        [
            Kind(variable: "KERNEL_CPUS", key: KernelSpecMetadata.cpus, resource: "cpu"),
            Kind(variable: "KERNEL_MEMORY", key: KernelSpecMetadata.memory, resource: "memory"),
            Kind(variable: "KERNEL_GPUS", key: KernelSpecMetadata.gpus, resource: gpuResource),
        ]
    }

    /// The kernelspec's `gpu_resource` when it names an extended resource (`vendor/name`, at most 316 bytes of
    /// label characters), else `nvidia.com/gpu`.
    static func gpuResource(_ ours: [String: JSONValue]) -> String {
        guard let name = ours[KernelSpecMetadata.gpuResource]?.stringValue, name.utf8.count <= 316,
              name.split(separator: "/", omittingEmptySubsequences: false).count == 2, !name.hasPrefix("/"), !name.hasSuffix("/"),
              name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F || $0 == 0x2F })
        else { return "nvidia.com/gpu" }
        return name
    }

    /// The merged `resources` object (empty when nothing at all is set).
    func render(env: [String: String], ours: [String: JSONValue], template: [String: KubeJSON]) throws(GatewayError) -> [String: KubeJSON] {
        var requests = template["requests"]?.objectValue ?? [:]
        var limits = template["limits"]?.objectValue ?? [:]
        let defaults = ours[KernelSpecMetadata.resources]?.objectValue ?? [:]
        let specLimits = ours[KernelSpecMetadata.limits]?.objectValue ?? [:]
        for kind in Self.kinds(gpuResource: Self.gpuResource(ours)) {
            let maximum = Self.text(ours[KernelSpecMetadata.maximum(of: kind.key)])
            if let value = env[kind.variable] ?? Self.text(defaults[kind.key]), !value.isEmpty {
                try Self.check(value, name: kind.variable, maximum: maximum)
                requests[kind.resource] = .string(value)
            }
            if let value = env[kind.variable + "_LIMIT"], !value.isEmpty {
                try Self.check(value, name: kind.variable + "_LIMIT", maximum: maximum)
                limits[kind.resource] = .string(value)
            }
            let request = requests[kind.resource]?.stringValue
            if kind.key == KernelSpecMetadata.gpus {
                // An extended resource: the request must equal the limit.
                if let request { limits[kind.resource] = .string(request) }
                continue
            }
            if let limit = limits[kind.resource]?.stringValue {
                if let request, let low = Quantity.amount(request), let high = Quantity.amount(limit), low > high {
                    let chosen = env[kind.variable + "_LIMIT"] != nil ? kind.variable + "_LIMIT=\(limit)" : "the pod template's limit of \(limit)"
                    throw .limitReached("\(kind.variable)=\(request) exceeds \(chosen)")
                }
                continue
            }
            let fallback = Self.text(specLimits[kind.key]) ?? (kind.resource == "cpu" ? defaultCPULimit : defaultMemoryLimit)
            if let limit = Self.defaultLimit(fallback, request: request, maximum: maximum) { limits[kind.resource] = .string(limit) }
        }
        var result: [String: KubeJSON] = [:]
        if !requests.isEmpty { result["requests"] = .object(requests) }
        if !limits.isEmpty { result["limits"] = .object(limits) }
        return result
    }

    /// A default limit: at most the kernelspec's maximum, at least the request.
    static func defaultLimit(_ fallback: String?, request: String?, maximum: String?) -> String? {
        guard var limit = fallback, let amount = Quantity.amount(limit) else { return request }
        if let maximum, let most = Quantity.amount(maximum), most > 0, amount > most { limit = maximum }
        if let request, let wanted = Quantity.amount(request), let chosen = Quantity.amount(limit), wanted > chosen {
            return request
        }
        return limit
    }

    static func check(_ value: String, name: String, maximum: String?) throws(GatewayError) {
        guard let amount = Quantity.amount(value) else {
            throw .invalidRequest("\(name) '\(KernelEnvironment.sanitized(value))' is not a valid quantity")
        }
        if let maximum, let most = Quantity.amount(maximum), amount > most {
            throw .limitReached("\(name)=\(value) exceeds this kernelspec's maximum of \(maximum)")
        }
    }

    /// A kernelspec value as a quantity: strings as written, whole numbers without a fraction; nil for
    /// values no quantity can hold (`inf`, `nan`, negative), which then count as unset.
    static func text(_ value: JSONValue?) -> String? {
        if let text = value?.stringValue { return text }
        guard let number = value?.doubleValue, number.isFinite, number >= 0 else { return nil }
        if number == number.rounded(), number < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
