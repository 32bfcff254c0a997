import Foundation
import JupyterProtocol
import KubernetesAPI
import Logging

/// Runs each kernel as one bare Pod (never a Deployment: culling must free its resources).
///
/// Launch: the gateway picks the ports and a random key, creates a Secret with the connection file,
/// then the Pod mounting it (stock ipykernel, explicit command), then makes the Pod the Secret's owner.
/// It learns the pod IP from its one watch and hands back connection info pointing at it; the kernel
/// manager then connects and waits for `kernel_info_reply`. Any failure deletes the pod and the Secret.
public struct KubernetesPodProvisioner: Provisioner {
    let client: KubernetesClient
    let tracker: KernelPodTracker
    let renderer: KernelPodRenderer
    let configuration: KubernetesProvisionerConfiguration
    let logger: Logger

    /// Creates the provisioner.
    public init(client: KubernetesClient, tracker: KernelPodTracker, configuration: KubernetesProvisionerConfiguration, logger: Logger) {
        self.client = client
        self.tracker = tracker
        self.renderer = KernelPodRenderer(configuration: configuration)
        self.configuration = configuration
        self.logger = logger
    }

    public func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel {
        let key = context.reuseConnection?.key ?? UUID().uuidString.lowercased()
        let rendered: KernelPodRenderer.Rendered
        do {
            rendered = try renderer.render(context, key: key)
        } catch {
            throw .refused(error)
        }
        let namespace = configuration.namespace
        let kernel = PodKernel(client: client, tracker: tracker, podName: rendered.podName,
                               secretName: rendered.secret.name, namespace: namespace,
                               connectionInfo: rendered.connectionInfo, logger: logger)
        do {
            _ = try await client.create(.secrets, rendered.secret, namespace: namespace)
            let pod = try await client.create(.pods, rendered.pod, namespace: namespace)
            if let uid = pod.uid {
                // The pod owns its Secret: should the gateway vanish, Kubernetes still cleans up.
                let owner: KubeJSON = ["metadata": ["ownerReferences": [[
                    "apiVersion": "v1", "kind": "Pod", "name": .string(rendered.podName), "uid": .string(uid),
                    "blockOwnerDeletion": false,
                ]]]]
                _ = try? await client.patch(.secrets, name: rendered.secret.name, namespace: namespace, patch: owner, as: KubeObject.self)
            }
        } catch {
            await kernel.cleanUp()
            throw .launchFailed("Could not create the kernel pod: \(Self.describe(error))")
        }
        logger.info("kernel pod created", metadata: ["kernel_id": "\(context.kernelID)", "pod": "\(rendered.podName)"])
        let ip: String
        do {
            ip = try await tracker.waitUntilRunning(podName: rendered.podName, timeout: context.launchTimeout)
        } catch {
            await kernel.cleanUp()
            throw .launchFailed(error.description)
        }
        kernel.setIP(ip)
        return kernel
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? KubernetesError { return error.description }
        return "\(error)"
    }
}
