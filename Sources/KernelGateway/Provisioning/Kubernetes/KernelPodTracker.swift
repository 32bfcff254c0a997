import Foundation
import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle
import Synchronization

/// Follows every kernel pod of this gateway through ONE label-selected watch (an informer), and the
/// cluster autoscaler's verdicts on pods through two field-selected Event watches (`TriggeredScaleUp`,
/// `NotTriggerScaleUp`), however many kernels there are. No per-kernel polling: launches and exits are
/// noticed from the watch.
///
/// Memory is bounded by what the API server keeps: the stores hold this gateway's pods and those two
/// kinds of pod Events only (Events expire after the API server's TTL, an hour by default), and no other
/// state outlives them.
public final class KernelPodTracker: Service, Sendable {
    let pods: Informer<KubeObject>
    let scaleUpEvents: Informer<KubeObject>
    let noScaleUpEvents: Informer<KubeObject>
    let logger: Logger
    /// How long an Unschedulable pod waits for the cluster autoscaler to announce a scale-up (it scans
    /// every 10 s by default) before the start fails; an explicit `NotTriggerScaleUp` fails it at once.
    public let scaleUpGrace: Duration

    /// Creates the tracker (its informers run in `run()`).
    public init(client: KubernetesClient, configuration: KubernetesProvisionerConfiguration, logger: Logger,
                scaleUpGrace: Duration = .seconds(12)) {
        self.scaleUpGrace = scaleUpGrace
        self.pods = Informer(client: client, resource: .pods, namespace: configuration.namespace,
                             labelSelector: configuration.podSelector, logger: logger)
        self.scaleUpEvents = Informer(client: client, resource: .events, namespace: configuration.namespace,
                                      fieldSelector: Self.eventSelector(reason: "TriggeredScaleUp"), logger: logger)
        self.noScaleUpEvents = Informer(client: client, resource: .events, namespace: configuration.namespace,
                                        fieldSelector: Self.eventSelector(reason: "NotTriggerScaleUp"), logger: logger)
        self.logger = logger
    }

    /// The field selector of one kind of the autoscaler's pod Events.
    static func eventSelector(reason: String) -> String { "involvedObject.kind=Pod,reason=\(reason)" }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.pods.run() }
            group.addTask { try await self.scaleUpEvents.run() }
            group.addTask { try await self.noScaleUpEvents.run() }
        }
    }

    /// Waits until the informers have listed once.
    public func waitForSync(timeout: Duration) async throws {
        try await pods.waitForSync(timeout: timeout)
        try await scaleUpEvents.waitForSync(timeout: timeout)
        try await noScaleUpEvents.waitForSync(timeout: timeout)
    }

    /// Whether one of the two Event stores holds an Event about this pod.
    static func hasEvent(in informer: Informer<KubeObject>, aboutPod name: String) -> Bool {
        !informer.store.list { $0["involvedObject"]?["name"]?.stringValue == name }.isEmpty
    }

    /// The pod as last seen, if it exists.
    public func pod(named name: String) -> KubeObject? {
        pods.store.get(namespace: pods.namespace, name: name)
    }

    func scaleUpTriggered(for name: String) -> Bool {
        Self.hasEvent(in: scaleUpEvents, aboutPod: name)
    }

    func scaleUpRefused(for name: String) -> Bool {
        Self.hasEvent(in: noScaleUpEvents, aboutPod: name)
    }

    /// Waits until the pod runs with an IP; fails as soon as Kubernetes reports a failure it will not
    /// recover from (with its reason and message), when the pod disappears, or after `timeout`.
    public func waitUntilRunning(podName: String, timeout: Duration) async throws(GatewayError) -> String {
        let changes = pods.changes(replayExisting: false)
        let eventStreams = [scaleUpEvents.changes(replayExisting: false), noScaleUpEvents.changes(replayExisting: false)]
        let watch = LaunchWatch(podName: podName, tracker: self)
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
        let tracker: KernelPodTracker
        let started = ContinuousClock.now
        private let state = Mutex<(seen: Bool, unschedulableSince: ContinuousClock.Instant?, pending: String?)>((false, nil, nil))

        init(podName: String, tracker: KernelPodTracker) {
            self.podName = podName
            self.tracker = tracker
        }

        var lastPending: String? { state.withLock { $0.pending } }

        func check() -> Verdict? {
            let pod = tracker.pod(named: podName)
            let scaleUp = tracker.scaleUpTriggered(for: podName)
            let noScaleUp = tracker.scaleUpRefused(for: podName)
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
                    if now - since < tracker.scaleUpGrace {
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
    public func waitUntilGone(podName: String) async -> String? {
        await waitUntilEnded(podName: podName)?.reason
    }

    /// Suspends until the pod is gone, being deleted or has failed for good, or the task is cancelled (nil).
    public func waitUntilEnded(podName: String) async -> PodEnd? {
        let changes = pods.changes(replayExisting: false)
        func ended(_ seen: KubeObject?) -> PodEnd? {
            guard let pod = seen else { return PodEnd(reason: "The kernel pod was deleted") }
            let ending = pod.metadata.annotations[KernelPodLabels.endingAnnotation]
            if pod.metadata.isBeingDeleted { return PodEnd(reason: "The kernel pod is being deleted", ending: ending) }
            if case .failed(let reason, let message) = PodAssessment.assess(pod, scaleUpTriggered: false) {
                return PodEnd(reason: "\(reason): \(message)", ending: ending)
            }
            return nil
        }
        if let end = ended(pod(named: podName)) { return end }
        for await event in changes where event.object.metadata.name == podName {
            if case .deleted = event {
                return PodEnd(reason: "The kernel pod was deleted", ending: event.object.metadata.annotations[KernelPodLabels.endingAnnotation])
            }
            if let end = ended(pod(named: podName)) { return end }
        }
        return nil
    }
}
