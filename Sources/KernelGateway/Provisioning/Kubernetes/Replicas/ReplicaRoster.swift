import ElasticJupyterContract
import Foundation
import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle

/// The replicas of this gateway that are alive: each holds one Lease (`gateway-replica` component, labelled with
/// the gateway's name) that it renews every ``renewInterval``; all of them are followed through one watch.
/// A replica that stops gracefully deletes its Lease, so the others take its kernels over at once; one that
/// crashes is taken over when its Lease expires (``leaseDuration``). One Lease per replica, never per kernel.
public final class ReplicaRoster: Service, Sendable {
    /// This replica's identity (`--replica-id`).
    public let replicaID: String
    let client: KubernetesClient
    let namespace: String
    let leaseName: String
    let labels: [String: String]
    let leases: Informer<KubeObject>
    let logger: Logger
    /// How often this replica renews its Lease.
    static let renewInterval: Duration = .seconds(4)
    /// How long a Lease counts after its last renewal.
    static let leaseDuration = 15

    /// Creates the roster of the gateway `configuration.gatewayName`.
    public init(client: KubernetesClient, configuration: KubernetesProvisionerConfiguration, logger: Logger) {
        self.replicaID = configuration.replicaID
        self.client = client
        self.namespace = configuration.namespace
        let gateway = KernelPodLabels.labelValue(configuration.gatewayName)
        self.labels = [KernelPodLabels.component: "gateway-replica", KernelPodLabels.gateway: gateway]
        self.leaseName = Self.leaseName(gateway: gateway, replicaID: configuration.replicaID)
        self.leases = Informer(client: client, resource: .leases, namespace: configuration.namespace,
                               labelSelector: "\(KernelPodLabels.component)=gateway-replica,\(KernelPodLabels.gateway)=\(gateway)",
                               logger: logger)
        self.logger = logger
    }

    /// A Lease name for the replica: DNS-safe, at most 63 characters, distinct per (gateway, replica).
    static func leaseName(gateway: String, replicaID: String) -> String {
        let pieces = [ReplicaObjectNames.dnsPiece(gateway, limit: 12), ReplicaObjectNames.dnsPiece(replicaID, limit: 30),
                      ReplicaObjectNames.shortHash(gateway + "/" + replicaID)]
        return (["ej-replica"] + pieces.filter { !$0.isEmpty }).joined(separator: "-")
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.leases.run() }
            group.addTask { await self.renewUntilShutdown() }
        }
    }

    private func renewUntilShutdown() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.renew()
                try? await Task.sleep(for: Self.renewInterval)
            }
        }
        // Stopping: the other replicas take this one's kernels over at once.
        do {
            try await client.delete(.leases, name: leaseName, namespace: namespace)
        } catch {
            logger.debug("could not delete the replica Lease", metadata: ["error": "\(error)"])
        }
    }

    private func renew() async {
        let spec: KubeJSON = [
            "holderIdentity": .string(replicaID), "leaseDurationSeconds": .int(Int64(Self.leaseDuration)),
            "renewTime": .string(MicroTime.format(Date())),
        ]
        do {
            _ = try await client.patch(.leases, name: leaseName, namespace: namespace, patch: ["spec": spec] as KubeJSON, as: KubeObject.self)
        } catch let error as KubernetesError where error.is(.notFound) {
            var lease = KubeObject(apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: leaseName, namespace: namespace)
            lease.metadata.labels = labels
            lease.fields["spec"] = spec
            do { _ = try await client.create(.leases, lease, namespace: namespace) } catch {
                logger.warning("could not create the replica Lease", metadata: ["error": "\(error)"])
            }
        } catch {
            logger.warning("could not renew the replica Lease", metadata: ["error": "\(error)"])
        }
    }

    /// Whether `replica` holds an unexpired Lease (this replica always counts as alive).
    public func isAlive(_ replica: String, now: Date = Date()) -> Bool {
        if replica == replicaID { return true }
        return leases.store.list().contains { lease in
            guard lease.spec?["holderIdentity"]?.stringValue == replica,
                  let renewed = lease.spec?["renewTime"]?.stringValue.flatMap(KubernetesPodProvisioner.parseTimestamp)
            else { return false }
            let duration = Double(lease.spec?["leaseDurationSeconds"]?.intValue ?? Self.leaseDuration)
            return renewed.addingTimeInterval(duration) > now
        }
    }
}
