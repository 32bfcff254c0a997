import ElasticJupyterContract
import JupyterProtocol
import KubernetesAPI

/// Whether a kernel asks for a GPU: its `KERNEL_GPUS`, else its kernelspec's `metadata.elastic_jupyter.resources.gpus`
/// (what a kernel pod's `nvidia.com/gpu` request is made from), is a quantity above zero.
enum KernelGPURequest {
    static func requested(by context: LaunchContext) -> Bool {
        if let value = context.environment["KERNEL_GPUS"], !value.isEmpty { return positive(value) }
        let ours = context.spec.metadata[KernelSpecMetadata.section]?.objectValue ?? [:]
        guard let gpus = ours["resources"]?.objectValue?["gpus"] else { return false }
        if let number = gpus.doubleValue { return number > 0 }
        return gpus.stringValue.map(positive) ?? false
    }

    private static func positive(_ text: String) -> Bool {
        (Quantity.amount(text) ?? 0) > 0
    }
}
