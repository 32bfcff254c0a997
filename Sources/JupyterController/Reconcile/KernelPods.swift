import KubernetesAPI
import Logging

/// Kernel pods, found by label: counting them for status, deleting them when their gateway or notebook goes.
public struct KernelPods: Sendable {
    let client: KubernetesClient
    let metrics: ControllerMetrics

    /// Creates a helper.
    public init(client: KubernetesClient, metrics: ControllerMetrics) {
        self.client = client
        self.metrics = metrics
    }

    /// Deletes every pod matching `selector` in `namespace` (read from the API, not a cache).
    /// - Returns: How many were still running (and were asked to go now) and how many were already terminating.
    public func deleteAll(namespace: String, selector: String, logger: Logger) async throws -> KernelPodCount {
        let pods = try await client.listAll(
            .pods, namespace: namespace, options: ListOptions(labelSelector: selector), as: KubeObject.self)
        for pod in pods.items where !pod.metadata.isBeingDeleted {
            do {
                try await markEnding(pod, namespace: namespace, logger: logger)
                try await client.delete(.pods, name: pod.name, namespace: namespace, options: DeleteOptions(propagationPolicy: .background))
                metrics.countWrite(kind: "Pod", verb: "delete")
                logger.info("deleted kernel pod", metadata: ["pod": "\(namespace)/\(pod.name)"])
            } catch KubernetesError.notFound {
            }
        }
        let terminating = pods.items.filter(\.metadata.isBeingDeleted).count
        return KernelPodCount(active: pods.items.count - terminating, terminating: terminating)
    }

    /// Marks a pod as shut down on purpose before it is deleted: a gateway seeing a kernel pod deleted without this
    /// mark takes it for a lost kernel and relaunches it (a deleted notebook's kernels would come back). A failed
    /// mark (but a pod already gone) does not stop the deletion.
    func markEnding(_ pod: KubeObject, namespace: String, logger: Logger) async throws {
        let patch: KubeJSON = ["metadata": ["annotations": [.init(stringLiteral: ControllerLabels.kernelEndingAnnotation): "shutdown"]]]
        do {
            let _: KubeObject = try await client.patch(.pods, name: pod.name, namespace: namespace, patch: patch)
            metrics.countWrite(kind: "Pod", verb: "patch")
        } catch {
            if case KubernetesError.notFound = error { throw error }
            logger.warning("could not mark the kernel pod as shut down", metadata: [
                "pod": "\(namespace)/\(pod.name)", "error": "\(error)"])
        }
    }

    /// Pods in a store matching a namespace and labels.
    public static func count(in store: [KubeObject], namespace: String, labels: [String: String]) -> Int {
        store.filter { pod in
            pod.namespace == namespace && !pod.metadata.isBeingDeleted
                && labels.allSatisfy { pod.labels[$0.key] == $0.value }
        }.count
    }
}
