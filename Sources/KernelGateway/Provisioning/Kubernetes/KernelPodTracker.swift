import Foundation
import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle
import Synchronization

/// Follows every kernel pod of this gateway, however many kernels there are: per namespace holding its kernels
/// (its own, and the namespaces of users' workspaces), ONE label-selected pod watch and the cluster autoscaler's
/// verdicts on pods through two field-selected Event watches (`TriggeredScaleUp`, `NotTriggerScaleUp`). No
/// per-kernel API requests: launches and exits are noticed from the watches (a launch still waiting re-reads the
/// watch's cache every 500 ms, for verdicts that change with time alone).
///
/// Memory is bounded by what the API server keeps: the stores hold this gateway's pods and those two kinds of pod
/// Events only (Events expire after the API server's TTL, an hour by default), in at most
/// ``maximumNamespaces`` namespaces, and no other state outlives them.
public final class KernelPodTracker: Service, Sendable {
    let client: KubernetesClient
    let podSelector: String
    let logger: Logger
    /// The gateway's own namespace (kernels of users without a workspace elsewhere run there).
    public let homeNamespace: String
    /// The watches of the gateway's own namespace.
    let home: KernelNamespaceWatches
    private let watched: Mutex<[String: KernelNamespaceWatches]>
    private let additions: AsyncStream<KernelNamespaceWatches>
    private let addition: AsyncStream<KernelNamespaceWatches>.Continuation
    /// Pod changes of every watched namespace.
    let podEvents = PodEventFanIn()
    /// How many namespaces are watched at most (the gateway's own included).
    public static let maximumNamespaces = 256
    /// How long an Unschedulable pod waits for the cluster autoscaler to announce a scale-up (it scans
    /// every 10 s by default) before the start fails; an explicit `NotTriggerScaleUp` fails it at once.
    public let scaleUpGrace: Duration

    /// Creates the tracker (its informers run in `run()`).
    public init(client: KubernetesClient, configuration: KubernetesProvisionerConfiguration, logger: Logger,
                scaleUpGrace: Duration = .seconds(12)) {
        self.client = client
        self.podSelector = configuration.podSelector
        self.logger = logger
        self.scaleUpGrace = scaleUpGrace
        self.homeNamespace = configuration.namespace
        let home = KernelNamespaceWatches(namespace: configuration.namespace, client: client, podSelector: configuration.podSelector, logger: logger)
        self.home = home
        self.watched = Mutex([configuration.namespace: home])
        (additions, addition) = AsyncStream.makeStream(of: KernelNamespaceWatches.self)
        connect(home)
    }

    private func connect(_ watches: KernelNamespaceWatches) {
        watches.pods.addHandler(replayExisting: false) { [podEvents] event in podEvents.deliver(event) }
        addition.yield(watches)
    }

    public func run() async throws {
        defer { podEvents.finish() }
        try await withThrowingDiscardingTaskGroup { group in
            for await watches in additions.cancelOnGracefulShutdown() {
                group.addTask { try await watches.run() }
            }
        }
    }

    /// The watches of `namespace`, started on first use; nil when ``maximumNamespaces`` are watched already.
    func watches(in namespace: String) -> KernelNamespaceWatches? {
        let (watches, created) = watched.withLock { watched -> (KernelNamespaceWatches?, Bool) in
            if let existing = watched[namespace] { return (existing, false) }
            guard watched.count < Self.maximumNamespaces else { return (nil, false) }
            let watches = KernelNamespaceWatches(namespace: namespace, client: client, podSelector: podSelector, logger: logger)
            watched[namespace] = watches
            return (watches, true)
        }
        if let watches, created {
            connect(watches)
            logger.info("watching kernel pods in another namespace", metadata: ["namespace": "\(namespace)"])
        }
        return watches
    }

    /// Starts watching each of `namespaces` (the namespaces of users' workspaces), so kernels there are adopted.
    public func watch(namespaces: some Sequence<String>) {
        for namespace in namespaces { _ = watches(in: namespace) }
    }

    /// Every namespace's watches.
    var allWatches: [KernelNamespaceWatches] { watched.withLock { Array($0.values) } }

    /// Waits until the gateway's own namespace's informers have listed once (other namespaces list when the gateway
    /// has access there, maybe later: see ``syncedPods(timeout:)``).
    public func waitForSync(timeout: Duration) async throws {
        try await home.waitForSync(timeout: timeout)
    }

    /// This gateway's kernel pods in every namespace whose watch has listed within `timeout` (waited for at once);
    /// a namespace that has not (no access there yet) is left out, its pods reported by ``podChanges(replayExisting:)``
    /// once it lists.
    public func syncedPods(timeout: Duration) async -> [KubeObject] {
        await withTaskGroup(of: [KubeObject].self) { group in
            for watches in allWatches {
                group.addTask { [logger] in
                    do {
                        try await watches.waitForSync(timeout: timeout)
                        return watches.pods.store.list()
                    } catch {
                        logger.warning("kernel pods of a namespace are not listed yet", metadata: [
                            "namespace": "\(watches.namespace)", "error": "\(error)",
                        ])
                        return []
                    }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// This gateway's kernel pods in every watched namespace, as last seen.
    public func allPods() -> [KubeObject] {
        allWatches.flatMap { $0.pods.store.list() }
    }

    /// Changes of this gateway's kernel pods in every watched namespace (those watched later included), from now,
    /// first replaying every known pod as `.added` when `replayExisting`.
    public func podChanges(replayExisting: Bool) -> AsyncStream<InformerEvent<KubeObject>> {
        podEvents.subscribe { replayExisting ? allPods() : [] }
    }

    /// The pod as last seen, if it exists.
    public func pod(named name: String, in namespace: String) -> KubeObject? {
        watched.withLock { $0[namespace] }?.pod(named: name)
    }
}
