import Foundation
import KubernetesAPI
import Logging

/// Kernel pods found when finalizing a gateway or notebook.
public struct KernelPodCount: Sendable, Hashable {
    /// Pods that were running and have just been asked to terminate.
    public var active: Int
    /// Pods already terminating before this pass.
    public var terminating: Int
    /// Both.
    public var total: Int { active + terminating }
}

/// Whether a finalizer may be released.
public enum FinalizerDecision: Sendable, Hashable {
    /// No kernel pod is left.
    case done
    /// Pods are still going: look again shortly.
    case wait
    /// Pods are still terminating after ``KernelPods/finalizerGrace``: report them and release anyway.
    case giveUp
}

extension KernelPods {
    /// How long a finalizer waits for terminating kernel pods (a lost node, a foreign finalizer) before it
    /// reports them and lets the object go: deletion must never wedge.
    public static let finalizerGrace: TimeInterval = 30

    /// Decides about a finalizer from the pods found and how long the object has been deleting. Pure.
    /// - Parameters:
    ///   - pods: What ``deleteAll(namespace:selector:logger:)`` found.
    ///   - deletionTimestamp: The object's `metadata.deletionTimestamp` (RFC 3339).
    ///   - now: The current time.
    public static func finalizerDecision(_ pods: KernelPodCount, deletionTimestamp: String?, now: Date = Date()) -> FinalizerDecision {
        if pods.total == 0 { return .done }
        if pods.active > 0 { return .wait }
        guard let text = deletionTimestamp, let since = ISO8601DateFormatter().date(from: text) else { return .giveUp }
        return now.timeIntervalSince(since) >= finalizerGrace ? .giveUp : .wait
    }

    /// Deletes the pods matching `selector` for an object being finalized, and decides with
    /// ``finalizerDecision(_:deletionTimestamp:now:)``.
    /// - Returns: `true` while pods are still going (a Normal Event with `message`; look again shortly), `false`
    ///   once the finalizer may go (pods left behind past the grace are reported first).
    static func stillDeleting(
        namespace: String, selector: String, of object: KubeObject, resource: ResourceDescriptor, context: ReconcileContext,
        logger: Logger, message: (KernelPodCount) -> String
    ) async throws -> Bool {
        let pods = try await context.kernelPods.deleteAll(namespace: namespace, selector: selector, logger: logger)
        switch finalizerDecision(pods, deletionTimestamp: object.metadata.deletionTimestamp) {
        case .wait:
            await context.recorder.record(object, .normal, reason: "DeletingKernels", message: message(pods))
            return true
        case .giveUp:
            try await reportLeftBehind(pods, object: object, resource: resource, context: context)
            return false
        case .done:
            return false
        }
    }

    /// Reports pods left behind: a Warning Event and the condition `KernelPodsLeftBehind` on the object.
    static func reportLeftBehind(
        _ pods: KernelPodCount, object: KubeObject, resource: ResourceDescriptor, context: ReconcileContext
    ) async throws {
        let message = "\(pods.terminating) kernel pod(s) still terminating after \(Int(finalizerGrace)) s; releasing the finalizer anyway"
        await context.recorder.record(object, .warning, reason: "KernelPodsLeftBehind", message: message)
        var conditions = Condition.list(from: object.status).filter { $0.type != "KernelPodsLeftBehind" }
        conditions.append(Condition(
            type: "KernelPodsLeftBehind", status: true, reason: "FinalizerTimeout", message: message,
            observedGeneration: object.metadata.generation ?? 0))
        var status = object.status ?? .emptyObject
        status["conditions"] = (try? KubeJSON(encoding: conditions)) ?? []
        try await StatusWriter.write(status, to: object, resource: resource, client: context.client)
    }
}
