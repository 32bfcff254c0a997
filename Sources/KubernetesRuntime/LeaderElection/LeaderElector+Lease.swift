import Foundation
import KubernetesAPI
import Logging

extension LeaderElector {
    /// One acquire-or-renew attempt; `true` if the lease is ours afterwards.
    func attempt() async -> Bool {
        do {
            return try await tryAcquireOrRenew()
        } catch is CancellationError {
            return false
        } catch {
            logger.debug("lease attempt failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    private var leaseSeconds: Int {
        let (seconds, attoseconds) = configuration.leaseDuration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }

    private func tryAcquireOrRenew() async throws -> Bool {
        let now = MicroTime.format(Date())
        let me = configuration.identity
        let lease: KubeObject
        do {
            lease = try await client.get(
                .leases, name: configuration.leaseName, namespace: configuration.namespace, as: KubeObject.self)
        } catch KubernetesError.notFound {
            let record = LeaseRecord(
                holderIdentity: me, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now,
                leaseTransitions: 0)
            var fresh = KubeObject(.leases, name: configuration.leaseName, namespace: configuration.namespace)
            fresh.spec = record.spec
            do {
                _ = try await client.create(.leases, fresh)
            } catch KubernetesError.alreadyExists {
                return false
            }
            observe(record)
            return true
        }

        let current = LeaseRecord(lease: lease)
        observe(current)
        if !current.holderIdentity.isEmpty, current.holderIdentity != me, !observedRecordExpired(current) {
            return false
        }
        var next = LeaseRecord(
            holderIdentity: me, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now,
            leaseTransitions: current.leaseTransitions)
        if current.holderIdentity == me {
            next.acquireTime = current.acquireTime ?? now
        } else {
            next.leaseTransitions += 1
        }
        var updated = lease
        updated.spec = merged(lease.spec, with: next.spec)
        do {
            _ = try await client.update(.leases, updated)
        } catch KubernetesError.conflict {
            return false
        }
        observe(next)
        return true
    }

    /// Whether the holder has not renewed for its lease duration, measured on our monotonic clock from
    /// when we first saw the current record.
    private func observedRecordExpired(_ record: LeaseRecord) -> Bool {
        let duration: Duration = .seconds(record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds : leaseSeconds)
        let observedAt = state.withLock { $0.observedAt }
        return ContinuousClock.now - observedAt >= duration
    }

    /// Gives the lease up (empty holder) if we hold it.
    func release() async {
        do {
            let lease = try await client.get(
                .leases, name: configuration.leaseName, namespace: configuration.namespace, as: KubeObject.self)
            let current = LeaseRecord(lease: lease)
            guard current.holderIdentity == configuration.identity else { return }
            let now = MicroTime.format(Date())
            let released = LeaseRecord(
                holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now,
                leaseTransitions: current.leaseTransitions)
            var updated = lease
            updated.spec = merged(lease.spec, with: released.spec)
            _ = try await client.update(.leases, updated)
            observe(released)
            logger.debug("lease released")
        } catch {
            logger.info("could not release the lease", metadata: ["error": "\(error)"])
        }
    }

    private func merged(_ spec: KubeJSON?, with record: KubeJSON) -> KubeJSON {
        var result = spec ?? .emptyObject
        for (key, value) in record.objectValue ?? [:] { result[key] = value }
        return result
    }
}
