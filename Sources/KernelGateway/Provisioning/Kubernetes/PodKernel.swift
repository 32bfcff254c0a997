import ElasticJupyterContract
import Foundation
import JupyterProtocol
import KubernetesAPI
import Logging
import Synchronization

/// A kernel running in a pod, as the kernel manager sees it.
///
/// It reads the pod only from the tracker's watch cache (never polls the API) and writes to it only by patching
/// annotations: last activity and restarts, the ending mark, and where each client stopped reading iopub. Those
/// annotations are how the other replicas, and the gateway after this one, learn what this replica knew.
final class PodKernel: ProvisionedKernel {
    /// Patches the pod's annotations and deletes the pod and Secret.
    let client: KubernetesClient
    /// The watch cache the pod's state is read from.
    let tracker: KernelPodTracker
    /// The pod's name (its namespace is ``namespace``).
    let podName: String
    /// The pod's UID: deletes carry it as a precondition, so a same-named pod of someone else is never hit.
    let podUID: String?
    /// The connection-file Secret's name.
    let secretName: String
    /// The Secret's UID, the precondition of its delete.
    let secretUID: String?
    /// The namespace of the pod and the Secret.
    let namespace: String
    /// Logs failed patches and deletes.
    let logger: Logger
    private let info: Mutex<ConnectionInfo>
    private let ended = Mutex<String?>(nil)
    /// When the last-activity annotation was written, and what it said.
    private let annotated = Mutex<(written: Date, value: Date, restarts: Int)?>(nil)

    /// The provisioner that made it (reads replacement pods) and this replica's identity.
    let provisioner: KubernetesPodProvisioner
    /// The kernel's id (the pod's `kernel_id` label): how a replacement pod is recognised.
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

    /// Records the pod's IP: the connection file says `0.0.0.0` (the kernel binds every interface), the gateway
    /// connects to the pod's address.
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

    /// Deletes the pod (not the Secret) with `grace` as its termination grace period, and waits until the watch
    /// reports it gone, at most `grace` plus 10 seconds. The deletes run detached: a cancelled caller cannot leave
    /// the pod behind.
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

    /// How a pod's end reads to the kernel manager: the ending mark another replica set (`cull`, `shutdown`) means
    /// the kernel was ended on purpose there; anything else (failed, deleted by hand, evicted) means it is lost.
    static func exit(_ end: KernelPodTracker.PodEnd?) -> KernelExit? {
        guard let end else { return nil }
        switch end.ending {
        case "cull": return .endedElsewhere(culled: true)
        case "shutdown": return .endedElsewhere(culled: false)
        default: return .lost(reason: end.reason)
        }
    }

    /// Whether this replica owns the kernel's lifecycle decisions: the pod's owner annotation names it. A pod
    /// the cache no longer has counts as owned (nobody else will decide for it).
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

    /// Writes where each session's client stopped reading iopub into the pod (at most ``maxCursors`` sessions),
    /// so that the replica its clients reconnect to can replay what they missed.
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

    /// Waits up to `timeout` for another pod of the same kernel id (a restart by the owning replica) that is not
    /// ending, and returns how to resume it; nil when none appears.
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

    /// Records the kernel's last activity and restarts on the pod, at most once per
    /// ``KubernetesProvisionerConfiguration/activityAnnotationInterval``, and never moving a later record back.
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
