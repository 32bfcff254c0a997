import Foundation
import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle
import Synchronization

/// Follows every kernel pod of this gateway through ONE label-selected watch (an informer), and the
/// namespace's Events through one more (for the autoscaler's `TriggeredScaleUp`), however many kernels
/// there are. No per-kernel polling: launches and exits are noticed from the watch.
public final class KernelPodTracker: Service, Sendable {
    let pods: Informer<KubeObject>
    let events: Informer<KubeObject>
    let logger: Logger
    private let scaleUps = Mutex<Set<String>>([])

    /// Creates the tracker (its informers run in `run()`).
    public init(client: KubernetesClient, configuration: KubernetesProvisionerConfiguration, logger: Logger) {
        self.pods = Informer(client: client, resource: .pods, namespace: configuration.namespace,
                             labelSelector: configuration.podSelector, logger: logger)
        self.events = Informer(client: client, resource: .events, namespace: configuration.namespace, logger: logger)
        self.logger = logger
        events.addHandler(replayExisting: false) { [weak self] event in
            self?.note(event)
        }
    }

    func note(_ event: InformerEvent<KubeObject>) {
        if case .deleted = event { return }
        let object = event.object
        if object["reason"]?.stringValue == "TriggeredScaleUp",
           object["involvedObject"]?["kind"]?.stringValue == "Pod",
           let name = object["involvedObject"]?["name"]?.stringValue {
            scaleUps.withLock { _ = $0.insert(name) }
        }
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.pods.run() }
            group.addTask { try await self.events.run() }
        }
    }

    /// Waits until the informers have listed once.
    public func waitForSync(timeout: Duration) async throws {
        try await pods.waitForSync(timeout: timeout)
        try await events.waitForSync(timeout: timeout)
    }

    /// The pod as last seen, if it exists.
    public func pod(named name: String) -> KubeObject? {
        pods.store.get(namespace: pods.namespace, name: name)
    }

    func scaleUpTriggered(for name: String) -> Bool {
        scaleUps.withLock { $0.contains(name) }
    }

    /// Waits until the pod runs with an IP; fails as soon as Kubernetes reports a failure it will not
    /// recover from (with its reason and message), when the pod disappears, or after `timeout`.
    public func waitUntilRunning(podName: String, timeout: Duration) async throws(GatewayError) -> String {
        let changes = pods.changes(replayExisting: false)
        let eventChanges = events.changes(replayExisting: false)
        enum Outcome: Sendable { case running(String), failed(String), timedOut, cancelled }
        let outcome: Outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                var seen = false
                var lastPending = "pod not created yet"
                func check() -> Outcome? {
                    guard let pod = self.pod(named: podName) else {
                        return seen ? .failed("The kernel pod was deleted before it started") : nil
                    }
                    seen = true
                    switch PodAssessment.assess(pod, scaleUpTriggered: self.scaleUpTriggered(for: podName)) {
                    case .running(let ip): return .running(ip)
                    case .failed(let reason, let message): return .failed("\(reason): \(message)")
                    case .pending(let what): lastPending = what; return nil
                    }
                }
                if let done = check() { return done }
                for await event in changes {
                    guard event.object.metadata.name == podName else { continue }
                    if let done = check() { return done }
                }
                _ = lastPending
                return .cancelled
            }
            group.addTask {
                // An autoscaler event can turn "Unschedulable" into "waiting": re-check on events too.
                for await event in eventChanges where event.object["involvedObject"]?["name"]?.stringValue == podName {
                    if self.pod(named: podName) != nil,
                       case .failed(let reason, let message) = PodAssessment.assess(self.pod(named: podName)!, scaleUpTriggered: self.scaleUpTriggered(for: podName)) {
                        return .failed("\(reason): \(message)")
                    }
                }
                return nil
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
        case .failed(let text): throw .launchFailed("Kernel pod \(podName) failed to start: \(text)")
        case .timedOut:
            let state = pod(named: podName).map { PodAssessment.assess($0, scaleUpTriggered: scaleUpTriggered(for: podName)) }
            let detail: String
            if case .pending(let what)? = state { detail = " (still \(what))" } else { detail = "" }
            throw .launchFailed("Kernel pod \(podName) did not start within the launch timeout of \(timeout)\(detail)")
        case .cancelled: throw .launchFailed("The kernel start was cancelled")
        }
    }

    /// Suspends until the pod is gone or has failed for good (the kernel's end), or the task is cancelled.
    public func waitUntilGone(podName: String) async -> String? {
        let changes = pods.changes(replayExisting: false)
        func ended() -> String? {
            guard let pod = pod(named: podName) else { return "The kernel pod was deleted" }
            if pod.metadata.isBeingDeleted { return "The kernel pod is being deleted" }
            if case .failed(let reason, let message) = PodAssessment.assess(pod, scaleUpTriggered: false) {
                return "\(reason): \(message)"
            }
            return nil
        }
        if let reason = ended() { return reason }
        for await event in changes where event.object.metadata.name == podName {
            if case .deleted = event { return "The kernel pod was deleted" }
            if let reason = ended() { return reason }
        }
        return nil
    }
}
