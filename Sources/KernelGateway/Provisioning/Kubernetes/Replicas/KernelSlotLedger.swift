import ElasticJupyterContract
import Foundation
import KubernetesAPI
import Logging

/// The gateway's kernel count across all its replicas, exact under concurrent starts: one Lease per gateway (the
/// gateway may write Leases anyway, and no other kind: ConfigMaps stay the controller's) whose
/// ``entriesAnnotation`` holds one entry per kernel pod (kernel id → user bucket and time of admission). A start reads it,
/// checks the limits against it and writes its entry back with the read `resourceVersion` as a precondition; a
/// conflict (another start, here or on another replica, won) re-reads and checks again.
///
/// Entries outlive nothing: an entry whose kernel has no pod (ended, or a start that crashed before creating one)
/// is dropped once it is older than ``staleAfter``, so a replica that dies mid-start never holds a slot for ever.
actor KernelSlotLedger {
    let client: KubernetesClient
    let tracker: KernelPodTracker
    let namespace: String
    let name: String
    let labels: [String: String]
    let staleAfter: TimeInterval
    let logger: Logger
    /// Attempts of one reservation before it gives up (each conflict means another start progressed).
    static let attempts = 12
    /// The annotation holding the entries (a JSON object).
    static let entriesAnnotation = "elastic-jupyter.io/kernels"
    /// The ledger as this replica last read or wrote it: tried first (one write per start, no read, while no other
    /// replica writes); a conflict reads it afresh.
    private var cached: (snapshot: Snapshot, exists: Bool)?

    init(client: KubernetesClient, tracker: KernelPodTracker, configuration: KubernetesProvisionerConfiguration,
         staleAfter: TimeInterval, logger: Logger) {
        self.client = client
        self.tracker = tracker
        self.namespace = configuration.namespace
        let gateway = KernelPodLabels.labelValue(configuration.gatewayName)
        self.name = "ej-kernels-\(ReplicaObjectNames.dnsPiece(gateway, limit: 30))-\(ReplicaObjectNames.shortHash(gateway))"
        self.labels = [KernelPodLabels.component: "kernel-ledger", KernelPodLabels.gateway: gateway]
        self.staleAfter = staleAfter
        self.logger = logger
    }

    /// Whether a reservation or release is under way, and who waits for its end: one at a time per replica (the
    /// actor alone would interleave them at every API call, each then conflicting with the other's write).
    private var busy = false
    private var queue: [CheckedContinuation<Void, Never>] = []

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { queue.append($0) }
    }

    private func relinquish() {
        if queue.isEmpty { busy = false } else { queue.removeFirst().resume() }
    }

    /// Records a kernel about to start, or refuses it when a limit is reached.
    func reserve(kernelID: String, user: String?, limits: KernelLimits) async throws(GatewayError) {
        await acquire()
        defer { relinquish() }
        for _ in 0..<Self.attempts {
            let fromCache = cached != nil
            let (current, exists) = try await latest()
            if current.data[kernelID] != nil { return }  // a relaunch: counted already
            var entries = pruned(current.data)
            let bucket = KernelLimits.bucket(of: user)
            do {
                try limits.check(total: entries.count, forUser: user, userCount: entries.values.filter { $0.bucket == bucket }.count)
            } catch {
                // Another replica may have released kernels since this one last looked: refuse only on fresh data.
                guard fromCache else { throw error }
                cached = nil
                continue
            }
            entries[kernelID] = Entry(bucket: bucket, admitted: Date())
            if try await write(entries, over: current, exists: exists) { return }
        }
        throw .limitReached("Too many kernels are starting at once; retry")
    }

    /// Drops a kernel's entry (best effort: a left-over entry is pruned once its pod is gone).
    func release(kernelID: String) async {
        await acquire()
        defer { relinquish() }
        for _ in 0..<4 {
            guard let (current, exists) = try? await latest(), exists, current.data[kernelID] != nil else { return }
            var entries = current.data
            entries.removeValue(forKey: kernelID)
            if (try? await write(entries, over: current, exists: true)) == true { return }
        }
    }

    struct Entry: Equatable {
        var bucket: String
        var admitted: Date
    }

    struct Snapshot {
        var data: [String: Entry]
        var resourceVersion: String?
    }

    /// Entries whose kernel still has a pod, or that are recent enough to belong to a start in progress.
    private func pruned(_ entries: [String: Entry]) -> [String: Entry] {
        let live = Set(tracker.allPods().compactMap { $0.metadata.labels[KernelPodLabels.kernelID] })
        let now = Date()
        return entries.filter { id, entry in live.contains(id) || now.timeIntervalSince(entry.admitted) < staleAfter }
    }

    /// The cached ledger, else the one read from the API server.
    private func latest() async throws(GatewayError) -> (Snapshot, exists: Bool) {
        if let cached { return cached }
        let fresh = try await read()
        cached = fresh
        return fresh
    }

    private func read() async throws(GatewayError) -> (Snapshot, exists: Bool) {
        do {
            let lease = try await client.get(.leases, name: name, namespace: namespace, as: KubeObject.self)
            let text = lease.metadata.annotations[Self.entriesAnnotation] ?? "{}"
            let stored = (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
            var data: [String: Entry] = [:]
            for (id, value) in stored {
                let parts = value.split(separator: "\t", maxSplits: 1)
                guard parts.count == 2, let seconds = TimeInterval(parts[1]) else { continue }
                data[id] = Entry(bucket: String(parts[0]), admitted: Date(timeIntervalSince1970: seconds))
            }
            return (Snapshot(data: data, resourceVersion: lease.metadata.resourceVersion), true)
        } catch let error as KubernetesError where error.is(.notFound) {
            return (Snapshot(data: [:], resourceVersion: nil), false)
        } catch {
            logger.warning("cannot read the kernel ledger", metadata: ["error": "\(error)"])
            throw .launchFailed(.provisioner("The gateway's kernel count cannot be read from Kubernetes"))
        }
    }

    /// Writes the entries; false when another writer got there first.
    private func write(_ entries: [String: Entry], over current: Snapshot, exists: Bool) async throws(GatewayError) -> Bool {
        var lease = KubeObject(apiVersion: "coordination.k8s.io/v1", kind: "Lease", name: name, namespace: namespace)
        lease.metadata.labels = labels
        lease.metadata.resourceVersion = current.resourceVersion
        let data = entries.mapValues { "\($0.bucket)\t\(Int($0.admitted.timeIntervalSince1970))" }
        guard let json = try? JSONEncoder().encode(data) else { throw .internalError("cannot encode the kernel ledger") }
        lease.metadata.annotations = [Self.entriesAnnotation: String(decoding: json, as: UTF8.self)]
        lease.fields["spec"] = .object([:])
        do {
            let stored = exists ? try await client.update(.leases, lease, namespace: namespace)
                                : try await client.create(.leases, lease, namespace: namespace)
            cached = (Snapshot(data: entries, resourceVersion: stored.metadata.resourceVersion), true)
            return true
        } catch let error as KubernetesError where error.is(.conflict) || error.is(.alreadyExists) || error.is(.notFound) {
            cached = nil
            return false
        } catch {
            logger.warning("cannot write the kernel ledger", metadata: ["error": "\(error)"])
            throw .launchFailed(.provisioner("The gateway's kernel count cannot be written to Kubernetes"))
        }
    }
}
