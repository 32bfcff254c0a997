import ElasticJupyterContract
import Foundation
import JupyterProtocol
import KubernetesAPI

extension KubernetesPodProvisioner {
    /// How long adoption waits for the pod watch's first list.
    static let adoptionSyncTimeout: Duration = .seconds(30)

    /// This gateway's kernel pods that are alive (not being deleted, not failed), read from its one pod watch:
    /// each with what its pod and connection Secret record (id, kernelspec, user, environment, start, last
    /// activity, restarts). Nothing is created or deleted here; the Secret is read when the kernel is resumed.
    public func runningKernels() async -> [RunningKernel] {
        await tracker.syncedPods(timeout: Self.adoptionSyncTimeout).compactMap(runningKernel(from:))
    }

    /// Every change of one of this gateway's live kernel pods (a kernel another replica started, an activity
    /// annotation), from the pod watch, until cancelled.
    public func followRunningKernels(_ handle: @escaping @Sendable (RunningKernel) async -> Void) async {
        for await event in tracker.podChanges(replayExisting: false) {
            if case .deleted = event { continue }
            if let running = runningKernel(from: event.object) { await handle(running) }
        }
    }

    /// The running kernel a pod describes, or nil when the pod is not an adoptable kernel.
    func runningKernel(from pod: KubeObject) -> RunningKernel? {
        let meta = pod.metadata
        guard !meta.isBeingDeleted, meta.annotations[KernelPodLabels.endingAnnotation] == nil, let podUID = pod.uid, let podName = meta.name,
              let kernelID = meta.labels[KernelPodLabels.kernelID],
              let specName = meta.annotations[KernelPodLabels.kernelSpecAnnotation],
              let secretName = meta.annotations[KernelPodLabels.secretAnnotation]
        else { return nil }
        if case .failed = PodAssessment.assess(pod, scaleUpTriggered: false) { return nil }
        let environment = Self.containerEnvironment(pod, kernelID: kernelID)
        let created = meta.creationTimestamp.flatMap(Self.parseTimestamp) ?? Date()
        let lastActivity = meta.annotations[KernelPodLabels.lastActivityAnnotation].flatMap(Self.parseTimestamp)
        let restarts = meta.annotations[KernelPodLabels.restartsAnnotation].flatMap { Int($0) }.map { max(0, min($0, 1_000_000)) } ?? 0
        let namespace = meta.namespace ?? configuration.namespace
        var running = RunningKernel(
            kernelID: kernelID, kernelSpecName: specName, user: KernelPodLabels.owner(annotations: meta.annotations, labels: meta.labels),
            environment: environment, workingDirectory: environment["KERNEL_WORKING_DIR"] ?? "",
            createdAt: created, lastActivity: lastActivity, restarts: restarts
        ) { timeout throws(ProvisionerError) in
            try await self.resume(kernelID: kernelID, namespace: namespace, podName: podName, podUID: podUID, secretName: secretName, timeout: timeout)
        }
        if let (workspace, notebookPath) = KernelWorkspace.mounted(in: pod) {
            running.workspace = workspace
            running.notebookPath = notebookPath
        }
        if namespace != configuration.namespace { running.namespace = namespace }
        return running
    }

    /// Reads the kernel's connection Secret and waits until its pod runs with an IP.
    func resume(kernelID: String, namespace: String, podName: String, podUID: String, secretName: String,
                timeout: Duration) async throws(ProvisionerError) -> any ProvisionedKernel {
        let secret: KubeObject
        do {
            secret = try await client.get(.secrets, name: secretName, namespace: namespace, as: KubeObject.self)
        } catch {
            logger.warning("cannot read an adopted kernel's Secret", metadata: ["pod": "\(podName)", "error": "\(Self.describe(error))"])
            throw .failed(.provisioner("The kernel's connection Secret cannot be read (\(Self.shortReason(error)))"))
        }
        guard let encoded = secret["data"]?["connection.json"]?.stringValue, let data = Data(base64Encoded: encoded),
              data.count <= 64 << 10, let info = try? JSONDecoder().decode(ConnectionInfo.self, from: data)
        else {
            // Nobody can reach that kernel: its pod and Secret go (exactly those: UID preconditions), so that the
            // usual failure path (a relaunch under the same names, or dead) is not blocked by them.
            logger.warning("an adopted kernel's Secret holds no valid connection file: its pod and Secret are deleted",
                           metadata: ["pod": "\(podName)"])
            var unusable = [PodLaunch.Created(resource: .pods, name: podName, uid: podUID)]
            if let uid = secret.uid { unusable.append(PodLaunch.Created(resource: .secrets, name: secretName, uid: uid)) }
            for object in unusable {
                await PodLaunch.delete(object, client: client, namespace: namespace, logger: logger)
            }
            _ = await withDeadline(.seconds(30)) { [tracker] in await tracker.waitUntilGone(podName: podName, namespace: namespace) }
            throw .failed(.provisioner("The kernel's connection Secret holds no valid connection file"))
        }
        let kernel = PodKernel(provisioner: self, kernelID: kernelID, namespace: namespace, podName: podName, podUID: podUID, secretName: secretName,
                               secretUID: secret.uid, connectionInfo: info)
        do {
            kernel.setIP(try await tracker.waitUntilRunning(podName: podName, namespace: namespace, timeout: timeout))
        } catch {
            if case .launchFailed(let failure) = error { throw .failed(failure) }
            throw .refused(error)
        }
        return kernel
    }

    /// The kernel container's plain environment variables (those a relaunch renders again).
    static func containerEnvironment(_ pod: KubeObject, kernelID: String) -> [String: String] {
        let containers = pod.spec?["containers"]?.arrayValue ?? []
        let kernelContainer = containers.first { container in
            container["env"]?.arrayValue?.contains { $0["name"]?.stringValue == "KERNEL_ID" } == true
        } ?? containers.first
        var environment: [String: String] = [:]
        for variable in kernelContainer?["env"]?.arrayValue ?? [] {
            guard let name = variable["name"]?.stringValue, let value = variable["value"]?.stringValue else { continue }
            environment[name] = value
        }
        return environment
    }

    /// An RFC 3339 time as Kubernetes and the gateway's annotations write it (fractional seconds optional).
    static func parseTimestamp(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
