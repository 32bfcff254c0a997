import KubernetesAPI
import Logging
import ServiceLifecycle
import Synchronization

/// Hands out shared informers: one watch per (resource, namespace, label selector, field selector, object
/// type), however many callers ask. Run the factory as a `Service`: it runs every informer it has made,
/// including those made after it started.
public final class InformerFactory: Service, Sendable {
    private struct Key: Hashable {
        var resource: ResourceDescriptor
        var namespace: String?
        var labelSelector: String?
        var fieldSelector: String?
        var objectType: ObjectIdentifier
    }

    private struct State {
        var informers: [Key: any AnyInformer] = [:]
        /// Informers made before `run` started, or while it runs (then also yielded to `newInformers`).
        var pending: [any AnyInformer] = []
        var runner: AsyncStream<any AnyInformer>.Continuation?
    }

    private let client: KubernetesClient
    private let configuration: InformerConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a factory.
    /// - Parameters:
    ///   - client: The API client all informers use.
    ///   - configuration: Tuning for every informer.
    ///   - logger: Logger for the informers.
    public init(
        client: KubernetesClient, configuration: InformerConfiguration = InformerConfiguration(),
        logger: Logger = Logger(label: "KubernetesRuntime.Informer")
    ) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// The shared informer for this collection (made on first request).
    /// - Parameters:
    ///   - resource: The resource type.
    ///   - namespace: Namespace; `nil` for all namespaces or a cluster-scoped resource.
    ///   - labelSelector: Label selector.
    ///   - fieldSelector: Field selector.
    ///   - type: Object type (``KubeObject`` for dynamic objects).
    public func informer<Object: KubernetesObject>(
        for resource: ResourceDescriptor, namespace: String? = nil, labelSelector: String? = nil,
        fieldSelector: String? = nil, as type: Object.Type = Object.self
    ) -> Informer<Object> {
        let key = Key(
            resource: resource, namespace: resource.namespaced ? namespace : nil, labelSelector: labelSelector,
            fieldSelector: fieldSelector, objectType: ObjectIdentifier(Object.self))
        return state.withLock { state in
            if let existing = state.informers[key] as? Informer<Object> { return existing }
            let informer = Informer<Object>(
                client: client, resource: resource, namespace: namespace, labelSelector: labelSelector,
                fieldSelector: fieldSelector, configuration: configuration, logger: logger)
            state.informers[key] = informer
            if let runner = state.runner {
                runner.yield(informer)
            } else {
                state.pending.append(informer)
            }
            return informer
        }
    }

    /// Every informer made so far.
    public var informers: [any AnyInformer] {
        state.withLock { Array($0.informers.values) }
    }

    /// Waits until every informer made so far has synced.
    /// - Parameter timeout: Give up after this long (per informer); `nil` waits until cancelled.
    public func waitForSync(timeout: Duration? = nil) async throws {
        for informer in informers {
            try await informer.waitForSync(timeout: timeout)
        }
    }

    /// Runs all informers (present and future) until cancelled or gracefully shut down.
    public func run() async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: (any AnyInformer).self)
        let pending = state.withLock { state -> [any AnyInformer] in
            state.runner = continuation
            defer { state.pending = [] }
            return state.pending
        }
        for informer in pending { continuation.yield(informer) }
        defer {
            state.withLock { $0.runner = nil }
            continuation.finish()
        }
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    for await informer in stream {
                        group.addTask {
                            do {
                                try await informer.run()
                            } catch InformerError.alreadyRunning {
                                // Someone else runs this one; nothing to do.
                            }
                        }
                    }
                }
            }
        } catch is CancellationError {
            // Normal stop.
        }
    }
}
