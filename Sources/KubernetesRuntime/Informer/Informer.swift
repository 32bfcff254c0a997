import KubernetesAPI
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps a ``Store`` in sync with one collection of the API (list, then watch; resume from the last
/// resourceVersion, re-list on 410, back off on errors) and tells handlers and streams about changes.
///
/// One informer is one watch on (resource, namespace, label selector, field selector); share them with
/// ``InformerFactory``. It is a `Service`: run it in a `ServiceGroup` (or call ``run()`` once in a task).
///
/// ```swift
/// let pods = Informer<KubeObject>(client: client, resource: .pods, namespace: "jupyter",
///                                 labelSelector: "app=kernel")
/// pods.addHandler { event in queue.add(event.key) }
/// ```
public final class Informer<Object: KubernetesObject>: AnyInformer, Sendable {
    /// The resource type watched.
    public let resource: ResourceDescriptor
    /// The namespace watched; `nil` for all namespaces (or a cluster-scoped resource).
    public let namespace: String?
    /// Label selector of the list and watch.
    public let labelSelector: String?
    /// Field selector of the list and watch.
    public let fieldSelector: String?
    /// The cache this informer keeps in sync.
    public let store: Store<Object>
    /// Tuning.
    public let configuration: InformerConfiguration

    let client: KubernetesClient
    let logger: Logger
    let synced = Gate()
    let dispatcher = Mutex(Dispatcher<Object>())
    private let running = Atomic<Bool>(false)
    let lastResourceVersion = Mutex<String?>(nil)
    let undecodableHandlers = Mutex<[@Sendable (UndecodableObject) -> Void]>([])

    /// Creates an informer (nothing happens until it runs).
    /// - Parameters:
    ///   - client: The API client.
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` for all namespaces or a cluster-scoped resource.
    ///   - labelSelector: Label selector, e.g. `app=kernel`.
    ///   - fieldSelector: Field selector, e.g. `status.phase=Running`.
    ///   - configuration: Tuning.
    ///   - logger: Logger (resource and namespace are added as metadata).
    public init(
        client: KubernetesClient,
        resource: ResourceDescriptor,
        namespace: String? = nil,
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        configuration: InformerConfiguration = InformerConfiguration(),
        logger: Logger = Logger(label: "KubernetesRuntime.Informer")
    ) {
        self.client = client
        self.resource = resource
        self.namespace = resource.namespaced ? namespace : nil
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.configuration = configuration
        self.store = Store()
        var logger = logger
        logger[metadataKey: "k8s.resource"] = "\(resource)"
        logger[metadataKey: "k8s.namespace"] = "\(namespace ?? "*")"
        if let labelSelector { logger[metadataKey: "k8s.labelSelector"] = "\(labelSelector)" }
        self.logger = logger
    }

    /// Whether the first list has been applied to the store.
    public var hasSynced: Bool { synced.isOpen }

    /// The resourceVersion the informer is at (last list, event or bookmark).
    public var resourceVersion: String? { lastResourceVersion.withLock { $0 } }

    /// Returns once the first list has been applied to the store.
    /// - Parameter timeout: Give up after this long; `nil` waits until cancelled.
    /// - Throws: ``InformerError/syncTimedOut(_:)``, ``InformerError/stopped`` or `CancellationError`.
    public func waitForSync(timeout: Duration? = nil) async throws {
        guard let timeout else { return try await synced.wait() }
        let gate = synced
        guard try await withTimeLimit(timeout, { try await gate.wait() }) != nil else {
            throw InformerError.syncTimedOut(timeout)
        }
    }

    /// Registers a change handler.
    ///
    /// Handlers run serially on the informer's task, after the store was updated: keep them short (e.g.
    /// enqueue a key) and do not register handlers from inside one.
    /// - Parameters:
    ///   - replayExisting: First call the handler with `.added` for every object already in the store.
    ///   - handler: The handler.
    public func addHandler(
        replayExisting: Bool = true, _ handler: @escaping @Sendable (InformerEvent<Object>) -> Void
    ) {
        dispatcher.withLock { dispatcher in
            dispatcher.handlers.append(handler)
            if replayExisting {
                for object in store.list() { handler(.added(object)) }
            }
        }
    }

    /// Registers a handler for objects that a list returned but that cannot be decoded (they are skipped;
    /// the handler may record an Event). It runs on the informer's task after every list that met one.
    public func addUndecodableHandler(_ handler: @escaping @Sendable (UndecodableObject) -> Void) {
        undecodableHandlers.withLock { $0.append(handler) }
    }

    /// A stream of changes, from now until the informer stops (or the stream is dropped).
    /// - Parameters:
    ///   - replayExisting: Start with `.added` for every object already in the store.
    ///   - bufferingPolicy: What to do when the consumer is slow. Default unbounded.
    public func changes(
        replayExisting: Bool = true,
        bufferingPolicy: AsyncStream<InformerEvent<Object>>.Continuation.BufferingPolicy = .unbounded
    ) -> AsyncStream<InformerEvent<Object>> {
        let (stream, continuation) = AsyncStream.makeStream(of: InformerEvent<Object>.self, bufferingPolicy: bufferingPolicy)
        let id = dispatcher.withLock { dispatcher -> UInt64? in
            guard !dispatcher.finished else { return nil }
            let id = dispatcher.addStream(continuation)
            if replayExisting {
                for object in store.list() { continuation.yield(.added(object)) }
            }
            return id
        }
        if id == nil { continuation.finish() }
        // No onTermination: a stream that ended is dropped at the next delivery (see Dispatcher.deliver).
        return stream
    }

    /// Lists and watches until cancelled or gracefully shut down. Call once.
    /// - Throws: ``InformerError/alreadyRunning`` if already running; otherwise returns normally when stopped.
    public func run() async throws {
        guard running.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else {
            throw InformerError.alreadyRunning
        }
        defer {
            synced.fail(InformerError.stopped)
            for continuation in dispatcher.withLock({ $0.finish() }) { continuation.finish() }
        }
        logger.debug("informer starting")
        do {
            try await cancelWhenGracefulShutdown { try await self.listAndWatch() }
        } catch is CancellationError {
            // Stopping is the normal way out.
        }
        logger.debug("informer stopped")
    }
}
