import ElasticJupyterContract
import Foundation
import KubernetesAPI
import KubernetesRuntime
import Synchronization

extension KernelPodTracker {
    /// Waits until the pod runs with an IP; fails as soon as Kubernetes reports a failure it will not
    /// recover from (with its reason and message), when the pod disappears, or after `timeout`.
    public func waitUntilRunning(podName: String, namespace: String, timeout: Duration) async throws(GatewayError) -> String {
        guard let watches = watches(in: namespace) else {
            throw .launchFailed(.podFailed(pod: podName, reason: "the gateway watches kernel pods in \(Self.maximumNamespaces) namespaces already"))
        }
        let changes = watches.pods.changes(replayExisting: false)
        let eventStreams = [watches.scaleUpEvents.changes(replayExisting: false), watches.noScaleUpEvents.changes(replayExisting: false)]
        let watch = LaunchWatch(podName: podName, watches: watches, scaleUpGrace: scaleUpGrace)
        typealias Outcome = LaunchOutcome
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                if let done = watch.check() { return done.outcome }
                for await event in changes where event.object.metadata.name == podName {
                    if let done = watch.check() { return done.outcome }
                }
                return .cancelled
            }
            group.addTask {
                // Autoscaler events change the verdict on an Unschedulable pod; so does time passing.
                await withTaskGroup(of: Void.self) { inner in
                    for eventChanges in eventStreams {
                        inner.addTask {
                            for await event in eventChanges where event.object["involvedObject"]?["name"]?.stringValue == podName {
                                _ = event
                                if watch.check() != nil { return }
                            }
                        }
                    }
                    inner.addTask {
                        while !Task.isCancelled {
                            do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
                            if watch.check() != nil { return }
                        }
                    }
                    await inner.next()
                    inner.cancelAll()
                }
                return watch.check()?.outcome
            }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            var result: Outcome = .cancelled
            while let next = await group.next() {
                if let next { result = next; break }
            }
            group.cancelAll()
            return result
        }
        switch outcome {
        case .running(let ip): return ip
        case .failed(let text): throw .launchFailed(.podFailed(pod: podName, reason: text))
        case .timedOut:
            throw .launchFailed(.podTimedOut(pod: podName, timeout: timeout, pending: watch.lastPending))
        case .cancelled: throw .launchFailed(.cancelled)
        }
    }

    enum LaunchOutcome: Sendable { case running(String), failed(String), timedOut, cancelled }

    /// The state of one launch being watched: decides, from the pod and the autoscaler's events, whether
    /// the pod runs, failed for good, or is still worth waiting for.
    final class LaunchWatch: Sendable {
        enum Verdict: Sendable {
            case running(String), failed(String)
            var outcome: LaunchOutcome {
                switch self {
                case .running(let ip): return .running(ip)
                case .failed(let text): return .failed(text)
                }
            }
        }
        let podName: String
        let watches: KernelNamespaceWatches
        let scaleUpGrace: Duration
        let started = ContinuousClock.now
        private let state = Mutex<(seen: Bool, unschedulableSince: ContinuousClock.Instant?, pending: String?)>((false, nil, nil))

        init(podName: String, watches: KernelNamespaceWatches, scaleUpGrace: Duration) {
            self.podName = podName
            self.watches = watches
            self.scaleUpGrace = scaleUpGrace
        }

        var lastPending: String? { state.withLock { $0.pending } }

        func check() -> Verdict? {
            let pod = watches.pod(named: podName)
            let scaleUp = watches.scaleUpTriggered(for: podName)
            let noScaleUp = watches.scaleUpRefused(for: podName)
            let now = ContinuousClock.now
            return state.withLock { state -> Verdict? in
                guard let pod else {
                    return state.seen ? .failed("The kernel pod was deleted before it started") : nil
                }
                state.seen = true
                switch PodAssessment.assess(pod, scaleUpTriggered: scaleUp) {
                case .running(let ip): return .running(ip)
                case .failed("Unschedulable", let message) where !noScaleUp:
                    let since = state.unschedulableSince ?? now
                    state.unschedulableSince = since
                    if now - since < scaleUpGrace {
                        state.pending = "unschedulable, waiting for a cluster scale-up: \(message)"
                        return nil
                    }
                    return .failed("Unschedulable: \(message) (no scale-up was triggered)")
                case .failed(let reason, let message): return .failed("\(reason): \(message)")
                case .pending(let what):
                    state.pending = what
                    return nil
                }
            }
        }
    }

    /// How a kernel pod ended.
    public struct PodEnd: Sendable, Equatable {
        /// What happened, for people.
        public var reason: String
        /// The pod's ``KernelPodLabels/endingAnnotation`` (a replica shut it down or culled it on purpose), if set.
        public var ending: String?
    }

    /// Suspends until the pod is gone or has failed for good (the kernel's end), or the task is cancelled.
    public func waitUntilGone(podName: String, namespace: String) async -> String? {
        await waitUntilEnded(podName: podName, namespace: namespace)?.reason
    }

    /// Suspends until the pod is gone, being deleted or has failed for good, or the task is cancelled (nil).
    public func waitUntilEnded(podName: String, namespace: String) async -> PodEnd? {
        guard let watches = watches(in: namespace) else { return PodEnd(reason: "The kernel pod's namespace is not watched") }
        let changes = watches.pods.changes(replayExisting: false)
        func ended(_ seen: KubeObject?) -> PodEnd? {
            guard let pod = seen else { return PodEnd(reason: "The kernel pod was deleted") }
            let ending = pod.metadata.annotations[KernelPodLabels.endingAnnotation]
            if pod.metadata.isBeingDeleted { return PodEnd(reason: "The kernel pod is being deleted", ending: ending) }
            if case .failed(let reason, let message) = PodAssessment.assess(pod, scaleUpTriggered: false) {
                return PodEnd(reason: "\(reason): \(message)", ending: ending)
            }
            return nil
        }
        if let end = ended(watches.pod(named: podName)) { return end }
        for await event in changes where event.object.metadata.name == podName {
            if case .deleted = event {
                return PodEnd(reason: "The kernel pod was deleted", ending: event.object.metadata.annotations[KernelPodLabels.endingAnnotation])
            }
            if let end = ended(watches.pod(named: podName)) { return end }
        }
        return nil
    }
}
