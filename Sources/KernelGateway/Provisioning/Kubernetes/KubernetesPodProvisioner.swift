import Foundation
import JupyterProtocol
import KubernetesAPI
import Logging

/// Runs each kernel as one bare Pod (never a Deployment: culling must free its resources).
///
/// Launch: the gateway picks the ports and a random key, creates a Secret with the connection file,
/// then the Pod mounting it (stock ipykernel, explicit command), then makes the Pod the Secret's owner.
/// It learns the pod IP from its one watch and hands back connection info pointing at it; the kernel
/// manager then connects and waits for `kernel_info_reply`. Any failure deletes what this launch created
/// (``PodLaunch``), never an object that only has the same name.
public struct KubernetesPodProvisioner: Provisioner {
    let client: KubernetesClient
    let tracker: KernelPodTracker
    let renderer: KernelPodRenderer
    let configuration: KubernetesProvisionerConfiguration
    let logger: Logger
    let ledger: KernelSlotLedger
    /// The gateway's limits, checked against the kernels of all its replicas (``KernelSlotLedger``).
    let limits: KernelLimits

    /// Creates the provisioner.
    public init(client: KubernetesClient, tracker: KernelPodTracker, configuration: KubernetesProvisionerConfiguration,
                limits: KernelLimits = KernelLimits(), logger: Logger) {
        self.limits = limits
        self.client = client
        self.tracker = tracker
        self.renderer = KernelPodRenderer(configuration: configuration)
        self.configuration = configuration
        self.logger = logger
        self.ledger = KernelSlotLedger(client: client, tracker: tracker, configuration: configuration, staleAfter: 120, logger: logger)
    }

    public func release(_ context: LaunchContext) async {
        await ledger.release(kernelID: context.kernelID)
    }

    public func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel {
        let key = context.reuseConnection?.key ?? UUID().uuidString.lowercased()
        let rendered: KernelPodRenderer.Rendered
        do {
            rendered = try renderer.render(context, key: key)
            // Counted where every replica sees it: the limits hold exactly when starts race on several replicas.
            try await ledger.reserve(kernelID: context.kernelID, user: context.user, limits: limits.forUser(limit: context.userKernelLimit))
        } catch {
            throw .refused(error)
        }
        for note in rendered.notes {
            logger.warning("kernel pod rendered with a note", metadata: ["kernel_id": "\(context.kernelID)", "note": "\(note)"])
        }
        let namespace = rendered.namespace
        guard tracker.watches(in: namespace) != nil else {
            throw .failed(.podFailed(pod: rendered.podName, reason: "the gateway watches kernel pods in \(KernelPodTracker.maximumNamespaces) namespaces already"))
        }
        let launch = PodLaunch(client: client, namespace: namespace, launchID: rendered.launchID, logger: logger)
        let pod: KubeObject
        do {
            _ = try await launch.create(.secrets, rendered.secret)
            pod = try await launch.create(.pods, rendered.pod)
            guard let uid = pod.uid else { throw KubernetesError(kind: .decoding, message: "the created pod has no uid") }
            // The pod owns its Secret: should the gateway vanish, Kubernetes still cleans up. A Secret left
            // without its owner would outlive the kernel, so a failed patch fails the start.
            let owner: KubeJSON = ["metadata": ["ownerReferences": [[
                "apiVersion": "v1", "kind": "Pod", "name": .string(rendered.podName), "uid": .string(uid),
                "blockOwnerDeletion": false,
            ]]]]
            _ = try await client.patch(.secrets, name: rendered.secret.name, namespace: namespace, patch: owner, as: KubeObject.self)
        } catch {
            await launch.undo()
            // The API server's own text (names, quotas, admission messages) goes to the log, not to the client.
            logger.warning("kernel pod creation failed", metadata: [
                "kernel_id": "\(context.kernelID)", "pod": "\(rendered.podName)", "error": "\(Self.describe(error))",
            ])
            throw .launchFailed("Could not create the kernel pod (\(Self.shortReason(error)))")
        }
        let kernel = PodKernel(provisioner: self, kernelID: context.kernelID, namespace: namespace, podName: rendered.podName, podUID: launch.uid(of: .pods),
                               secretName: rendered.secret.name, secretUID: launch.uid(of: .secrets),
                               connectionInfo: rendered.connectionInfo)
        logger.info("kernel pod created", metadata: ["kernel_id": "\(context.kernelID)", "pod": "\(rendered.podName)"])
        let ip: String
        do {
            ip = try await tracker.waitUntilRunning(podName: rendered.podName, namespace: namespace, timeout: context.launchTimeout)
        } catch {
            await kernel.cleanUp()
            if case .launchFailed(let failure) = error { throw .failed(failure) }
            throw .refused(error)
        }
        kernel.setIP(ip)
        return kernel
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? KubernetesError { return error.description }
        return "\(error)"
    }

    /// A short, fixed description of a failed API call for the client: its kind, never the server's text.
    static func shortReason(_ error: any Error) -> String {
        guard let error = error as? KubernetesError else { return "internal error" }
        switch error.kind {
        case .alreadyExists: return "a pod or Secret of that name exists already"
        case .forbidden, .unauthorized: return "the gateway is not allowed to"
        case .invalid, .badRequest: return "Kubernetes refused the pod as invalid; see the gateway's log"
        case .tooManyRequests: return "the Kubernetes API is overloaded"
        case .transport, .timeout: return "the Kubernetes API could not be reached"
        default: return "Kubernetes API error; see the gateway's log"
        }
    }
}
