import Foundation
import JupyterProtocol
import KubernetesAPI
import Logging
import Synchronization

/// A kernel running in a pod, as the kernel manager sees it.
final class PodKernel: ProvisionedKernel {
    let client: KubernetesClient
    let tracker: KernelPodTracker
    let podName: String
    let secretName: String
    let namespace: String
    let logger: Logger
    private let info: Mutex<ConnectionInfo>
    private let ended = Mutex<String?>(nil)
    /// When the last-activity annotation was written, and what it said.
    private let annotated = Mutex<(written: Date, value: Date)?>(nil)
    /// The annotation is written at most this often.
    static let annotationInterval: TimeInterval = 60

    init(client: KubernetesClient, tracker: KernelPodTracker, podName: String, secretName: String, namespace: String,
         connectionInfo: ConnectionInfo, logger: Logger) {
        self.client = client
        self.tracker = tracker
        self.podName = podName
        self.secretName = secretName
        self.namespace = namespace
        self.logger = logger
        self.info = Mutex(connectionInfo)
    }

    func setIP(_ ip: String) {
        info.withLock { $0.ip = ip }
    }

    var connectionInfo: ConnectionInfo { info.withLock { $0 } }
    var processID: Int32? { nil }
    var restartsInPlace: Bool { true }
    var supportsSignals: Bool { false }

    var hasExited: Bool {
        if ended.withLock({ $0 }) != nil { return true }
        guard let pod = tracker.pod(named: podName) else { return true }
        if case .failed = PodAssessment.assess(pod, scaleUpTriggered: false) { return true }
        return false
    }

    func interruptBySignal() async throws(ProvisionerError) {
        throw .launchFailed("Signals cannot reach a kernel pod; interrupt_request is used instead")
    }

    func terminate(grace: Duration) async {
        let seconds = Int(grace.components.seconds)
        let (client, podName, namespace, logger) = (self.client, self.podName, self.namespace, self.logger)
        await Task.detached {
            do {
                try await client.delete(.pods, name: podName, namespace: namespace,
                                        options: DeleteOptions(gracePeriodSeconds: max(0, seconds)))
            } catch let error as KubernetesError where error.is(.notFound) {
            } catch {
                logger.warning("deleting kernel pod failed", metadata: ["pod": "\(podName)", "error": "\(error)"])
            }
        }.value
        _ = await withDeadline(grace + .seconds(10)) { await self.tracker.waitUntilGone(podName: self.podName) }
    }

    func waitForExit() async -> KernelExit {
        let reason = await tracker.waitUntilGone(podName: podName) ?? "The kernel pod is gone"
        ended.withLock { $0 = reason }
        return .lost(reason: reason)
    }

    func waitForExitOrCancellation() async -> KernelExit? {
        guard let reason = await tracker.waitUntilGone(podName: podName) else { return nil }
        return .lost(reason: reason)
    }

    func noteActivity(_ lastActivity: Date) async {
        let now = Date()
        let due = annotated.withLock { state -> Bool in
            if let state, state.value == lastActivity || now.timeIntervalSince(state.written) < Self.annotationInterval { return false }
            state = (now, lastActivity)
            return true
        }
        guard due else { return }
        let patch: KubeJSON = ["metadata": ["annotations": [
            .init(stringLiteral: KernelPodLabels.lastActivityAnnotation): .string(JupyterDate.format(lastActivity)),
        ]]]
        do {
            _ = try await client.patch(.pods, name: podName, namespace: namespace, patch: patch, as: KubeObject.self)
        } catch {
            logger.debug("could not annotate last activity", metadata: ["pod": "\(podName)", "error": "\(error)"])
        }
    }

    func cleanUp() async {
        // Runs to completion even when the caller was cancelled (gateway shutdown, a client gone mid-start):
        // a pod left behind would hold its CPU, memory or GPU. Awaited, so still bounded by the caller.
        let (client, podName, secretName, namespace, logger) = (self.client, self.podName, self.secretName, self.namespace, self.logger)
        await Task.detached {
            for (resource, name) in [(ResourceDescriptor.pods, podName), (.secrets, secretName)] {
                do {
                    try await client.delete(resource, name: name, namespace: namespace, options: DeleteOptions(gracePeriodSeconds: 0))
                } catch let error as KubernetesError where error.is(.notFound) {
                } catch {
                    logger.warning("cleanup failed", metadata: ["object": "\(resource.plural)/\(name)", "error": "\(error)"])
                }
            }
        }.value
    }
}
