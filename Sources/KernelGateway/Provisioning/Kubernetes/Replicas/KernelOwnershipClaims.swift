import ElasticJupyterContract
import Foundation
import KubernetesAPI
import Logging
import ServiceLifecycle

/// Takes over the kernels whose owner replica is gone: a kernel pod whose owner annotation names a replica
/// without a live Lease (or no replica) is claimed by patching the annotation with the pod's resourceVersion as
/// a precondition, so when several replicas try at once exactly one wins. Scans the watched pods (memory only)
/// every ``interval``; claims nothing before both watches have listed once.
public struct KernelOwnershipClaims: Service {
    let roster: ReplicaRoster
    let tracker: KernelPodTracker
    let client: KubernetesClient
    let namespace: String
    let logger: Logger
    /// Time between two scans.
    static let interval: Duration = .seconds(2)

    /// Creates the claimer of this replica (`roster.replicaID`).
    public init(roster: ReplicaRoster, tracker: KernelPodTracker, client: KubernetesClient, namespace: String, logger: Logger) {
        self.roster = roster
        self.tracker = tracker
        self.client = client
        self.namespace = namespace
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await roster.leases.waitForSync(timeout: .seconds(60))
                try await tracker.waitForSync(timeout: .seconds(60))
            } catch {
                return
            }
            while !Task.isCancelled {
                await claimOrphans()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// Claims every live kernel pod whose owner is not alive.
    func claimOrphans() async {
        let now = Date()
        for pod in tracker.allPods() {
            let annotations = pod.metadata.annotations
            guard !pod.metadata.isBeingDeleted, annotations[KernelPodLabels.endingAnnotation] == nil,
                  let name = pod.metadata.name, let version = pod.metadata.resourceVersion else { continue }
            let owner = annotations[KernelPodLabels.ownerAnnotation]
            if let owner, roster.isAlive(owner, now: now) { continue }
            let patch: KubeJSON = ["metadata": [
                "resourceVersion": .string(version),
                "annotations": [.init(stringLiteral: KernelPodLabels.ownerAnnotation): .string(roster.replicaID)],
            ]]
            do {
                _ = try await client.patch(.pods, name: name, namespace: pod.metadata.namespace ?? namespace, patch: patch, as: KubeObject.self)
                logger.info("took over a kernel from a gone replica", metadata: [
                    "kernel_id": "\(pod.metadata.labels[KernelPodLabels.kernelID] ?? "-")", "previous_owner": "\(owner ?? "-")",
                ])
            } catch let error as KubernetesError where error.is(.conflict) || error.is(.notFound) {
                // Another replica claimed it first, or it is gone.
            } catch {
                logger.warning("could not claim a kernel", metadata: ["pod": "\(name)", "error": "\(error)"])
            }
        }
    }
}
