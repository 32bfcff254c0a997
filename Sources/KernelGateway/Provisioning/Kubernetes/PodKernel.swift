import ElasticJupyterContract
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
    /// The pod's UID: deletes carry it as a precondition, so a same-named pod of someone else is never hit.
    let podUID: String?
    let secretName: String
    let secretUID: String?
    let namespace: String
    let logger: Logger
    private let info: Mutex<ConnectionInfo>
    private let ended = Mutex<String?>(nil)
    /// When the last-activity annotation was written, and what it said.
    private let annotated = Mutex<(written: Date, value: Date, restarts: Int)?>(nil)

    /// The provisioner that made it (reads replacement pods) and this replica's identity.
    let provisioner: KubernetesPodProvisioner
    let kernelID: String

    init(provisioner: KubernetesPodProvisioner, kernelID: String, namespace: String, podName: String, podUID: String?, secretName: String,
         secretUID: String?, connectionInfo: ConnectionInfo) {
        self.provisioner = provisioner
        self.kernelID = kernelID
        let (client, tracker, logger) = (provisioner.client, provisioner.tracker, provisioner.logger)
        self.client = client
        self.tracker = tracker
        self.podName = podName
        self.podUID = podUID
        self.secretName = secretName
        self.secretUID = secretUID
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
    var outlivesGateway: Bool { true }
    var supportsSignals: Bool { false }

    var hasExited: Bool {
        if ended.withLock({ $0 }) != nil { return true }
        guard let pod = tracker.pod(named: podName, in: namespace) else { return true }
        if case .failed = PodAssessment.assess(pod, scaleUpTriggered: false) { return true }
        return false
    }

    func interruptBySignal() async throws(ProvisionerError) {
        throw .launchFailed("Signals cannot reach a kernel pod; interrupt_request is used instead")
    }

    /// Whether ``terminate(grace:)`` deleted the pod already (clean-up then deletes only the Secret).
    private let podDeleted = Mutex(false)

    func terminate(grace: Duration) async {
        podDeleted.withLock { $0 = true }
        let seconds = Int(grace.components.seconds)
        let (client, namespace, logger) = (self.client, self.namespace, self.logger)
        let objects = ownObjects.filter { $0.resource == .pods }
        await Task.detached {
            for object in objects {
                await PodLaunch.delete(object, client: client, namespace: namespace, logger: logger, grace: max(0, seconds))
            }
        }.value
        _ = await withDeadline(grace + .seconds(10)) { await self.tracker.waitUntilGone(podName: self.podName, namespace: self.namespace) }
    }

    func waitForExit() async -> KernelExit {
        let end = await tracker.waitUntilEnded(podName: podName, namespace: namespace)
        ended.withLock { $0 = end?.reason ?? "The kernel pod is gone" }
        return Self.exit(end) ?? .lost(reason: "The kernel pod is gone")
    }

    func waitForExitOrCancellation() async -> KernelExit? {
        Self.exit(await tracker.waitUntilEnded(podName: podName, namespace: namespace))
    }

    static func exit(_ end: KernelPodTracker.PodEnd?) -> KernelExit? {
        guard let end else { return nil }
        switch end.ending {
        case "cull": return .endedElsewhere(culled: true)
        case "shutdown": return .endedElsewhere(culled: false)
        default: return .lost(reason: end.reason)
        }
    }

    var isOwnedHere: Bool {
        guard let pod = tracker.pod(named: podName, in: namespace) else { return true }
        return pod.metadata.annotations[KernelPodLabels.ownerAnnotation] == provisioner.configuration.replicaID
    }

    func announceEnding(culled: Bool) async {
        let patch: KubeJSON = ["metadata": ["annotations": [
            .init(stringLiteral: KernelPodLabels.endingAnnotation): .string(culled ? "cull" : "shutdown"),
        ]]]
        do {
            _ = try await client.patch(.pods, name: podName, namespace: namespace, patch: patch, as: KubeObject.self)
        } catch {
            logger.debug("could not mark the pod as ending", metadata: ["pod": "\(podName)", "error": "\(error)"])
        }
    }

    func recordIopubCursors(_ cursors: [String: IopubCursor]) async {
        let kept = Dictionary(uniqueKeysWithValues: cursors.sorted { $0.key < $1.key }.prefix(Self.maxCursors)
            .filter { $0.key.utf8.count <= 256 && $0.value.isWithinBounds }.map { ($0.key, $0.value) })
        guard let json = try? JSONEncoder().encode(kept) else { return }
        let patch: KubeJSON = ["metadata": ["annotations": [
            .init(stringLiteral: KernelPodLabels.iopubCursorsAnnotation): .string(String(decoding: json, as: UTF8.self)),
        ]]]
        do {
            _ = try await client.patch(.pods, name: podName, namespace: namespace, patch: patch, as: KubeObject.self)
        } catch {
            logger.warning("could not record where clients stopped", metadata: ["pod": "\(podName)", "error": "\(error)"])
        }
    }

    /// Sessions whose cursor is recorded at most.
    static let maxCursors = 32

    func iopubCursor(forSession session: String) -> IopubCursor? {
        guard let text = tracker.pod(named: podName, in: namespace)?.metadata.annotations[KernelPodLabels.iopubCursorsAnnotation],
              text.utf8.count <= 64 << 10,
              let cursors = try? JSONDecoder().decode([String: IopubCursor].self, from: Data(text.utf8)),
              let cursor = cursors[session], cursor.isWithinBounds else { return nil }
        return cursor
    }

    func awaitReplacement(timeout: Duration) async -> (@Sendable (Duration) async throws(ProvisionerError) -> any ProvisionedKernel)? {
        let (tracker, provisioner, kernelID, oldUID) = (self.tracker, self.provisioner, self.kernelID, self.podUID)
        let changes = tracker.podChanges(replayExisting: true)
        let found = await withDeadline(timeout) { () -> RunningKernel? in
            for await event in changes {
                if case .deleted = event { continue }
                let pod = event.object
                guard pod.metadata.labels[KernelPodLabels.kernelID] == kernelID, pod.uid != oldUID,
                      pod.metadata.annotations[KernelPodLabels.endingAnnotation] == nil,
                      let running = provisioner.runningKernel(from: pod) else { continue }
                return running
            }
            return nil
        }
        return found??.resume
    }

    func noteActivity(_ lastActivity: Date, restarts: Int) async {
        let now = Date()
        let interval = provisioner.configuration.activityAnnotationInterval
        // Another replica (or an earlier process) may have recorded later use: never move the record back.
        let annotations = tracker.pod(named: podName, in: namespace)?.metadata.annotations ?? [:]
        let recorded = annotations[KernelPodLabels.lastActivityAnnotation].flatMap(KubernetesPodProvisioner.parseTimestamp)
        if let recorded, recorded >= lastActivity.addingTimeInterval(-0.5),
           annotations[KernelPodLabels.restartsAnnotation] ?? "0" == String(restarts) {
            return
        }
        let due = annotated.withLock { state -> Bool in
            if let state, state.value == lastActivity && state.restarts == restarts || now.timeIntervalSince(state.written) < interval {
                return false
            }
            state = (now, lastActivity, restarts)
            return true
        }
        guard due else { return }
        let patch: KubeJSON = ["metadata": ["annotations": [
            .init(stringLiteral: KernelPodLabels.lastActivityAnnotation): .string(JupyterDate.format(lastActivity)),
            .init(stringLiteral: KernelPodLabels.restartsAnnotation): .string(String(restarts)),
        ]]]
        do {
            _ = try await client.patch(.pods, name: podName, namespace: namespace, patch: patch, as: KubeObject.self)
        } catch {
            logger.debug("could not annotate last activity", metadata: ["pod": "\(podName)", "error": "\(error)"])
        }
    }

    /// The pod and Secret as this gateway created them (with their UIDs).
    var ownObjects: [PodLaunch.Created] {
        [(ResourceDescriptor.pods, podName, podUID), (.secrets, secretName, secretUID)].compactMap { resource, name, uid in
            uid.map { PodLaunch.Created(resource: resource, name: name, uid: $0) }
        }
    }

    func cleanUp() async {
        // Runs to completion even when the caller was cancelled (gateway shutdown, a client gone mid-start):
        // a pod left behind would hold its CPU, memory or GPU. Awaited, so still bounded by the caller.
        let podGone = podDeleted.withLock { $0 }
        let objects = ownObjects.filter { !(podGone && $0.resource == .pods) }
        let (client, namespace, logger) = (self.client, self.namespace, self.logger)
        await Task.detached {
            for object in objects {
                await PodLaunch.delete(object, client: client, namespace: namespace, logger: logger)
            }
        }.value
    }
}
