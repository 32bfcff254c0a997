import KubernetesAPI
import KubernetesRuntime
import Logging

/// The watches of one namespace holding this gateway's kernel pods: its kernel pods (one label-selected watch) and
/// the cluster autoscaler's verdicts on pods there (two field-selected Event watches, `TriggeredScaleUp` and
/// `NotTriggerScaleUp`).
final class KernelNamespaceWatches: Sendable {
    /// The namespace.
    let namespace: String
    /// This gateway's kernel pods in it.
    let pods: Informer<KubeObject>
    /// `TriggeredScaleUp` Events about pods in it.
    let scaleUpEvents: Informer<KubeObject>
    /// `NotTriggerScaleUp` Events about pods in it.
    let noScaleUpEvents: Informer<KubeObject>

    init(namespace: String, client: KubernetesClient, podSelector: String, logger: Logger) {
        self.namespace = namespace
        pods = Informer(client: client, resource: .pods, namespace: namespace, labelSelector: podSelector, logger: logger)
        scaleUpEvents = Informer(client: client, resource: .events, namespace: namespace,
                                 fieldSelector: Self.eventSelector(reason: "TriggeredScaleUp"), logger: logger)
        noScaleUpEvents = Informer(client: client, resource: .events, namespace: namespace,
                                   fieldSelector: Self.eventSelector(reason: "NotTriggerScaleUp"), logger: logger)
    }

    /// The field selector of one kind of the autoscaler's pod Events.
    static func eventSelector(reason: String) -> String { "involvedObject.kind=Pod,reason=\(reason)" }

    /// Lists and watches until stopped.
    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.pods.run() }
            group.addTask { try await self.scaleUpEvents.run() }
            group.addTask { try await self.noScaleUpEvents.run() }
        }
    }

    /// Waits until the three watches have listed once.
    func waitForSync(timeout: Duration) async throws {
        try await pods.waitForSync(timeout: timeout)
        try await scaleUpEvents.waitForSync(timeout: timeout)
        try await noScaleUpEvents.waitForSync(timeout: timeout)
    }

    /// The pod as last seen, if it exists.
    func pod(named name: String) -> KubeObject? {
        pods.store.get(namespace: namespace, name: name)
    }

    /// Whether one of the two Event stores holds an Event about this pod.
    static func hasEvent(in informer: Informer<KubeObject>, aboutPod name: String) -> Bool {
        !informer.store.list { $0["involvedObject"]?["name"]?.stringValue == name }.isEmpty
    }

    func scaleUpTriggered(for name: String) -> Bool { Self.hasEvent(in: scaleUpEvents, aboutPod: name) }

    func scaleUpRefused(for name: String) -> Bool { Self.hasEvent(in: noScaleUpEvents, aboutPod: name) }
}
