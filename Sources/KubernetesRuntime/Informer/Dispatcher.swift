import KubernetesAPI
import ServiceLifecycle

/// Handlers and streams of an informer (guarded by the informer's lock).
struct Dispatcher<Object: KubernetesObject> {
    var handlers: [@Sendable (InformerEvent<Object>) -> Void] = []
    var streams: [UInt64: AsyncStream<InformerEvent<Object>>.Continuation] = [:]
    var nextStreamID: UInt64 = 0
    var finished = false

    mutating func addStream(_ continuation: AsyncStream<InformerEvent<Object>>.Continuation) -> UInt64 {
        nextStreamID += 1
        streams[nextStreamID] = continuation
        return nextStreamID
    }

    func deliver(_ event: InformerEvent<Object>) {
        for handler in handlers { handler(event) }
        for continuation in streams.values { continuation.yield(event) }
    }

    /// Marks the dispatcher finished and hands back the open streams, to be finished outside the lock
    /// (finishing runs `onTermination`, which takes the lock).
    mutating func finish() -> [AsyncStream<InformerEvent<Object>>.Continuation] {
        finished = true
        defer { streams = [:] }
        return Array(streams.values)
    }
}

/// What every informer offers regardless of its object type (for factories and controllers).
public protocol AnyInformer: Service {
    /// The resource type watched.
    var resource: ResourceDescriptor { get }
    /// Whether the first list has been applied.
    var hasSynced: Bool { get }
    /// Returns once synced.
    /// - Parameter timeout: Give up after this long; `nil` waits until cancelled.
    func waitForSync(timeout: Duration?) async throws
    /// Runs the list/watch loop until cancelled or shut down.
    func run() async throws
}
