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

    /// Hands the event to every handler and stream; streams whose consumer has gone are dropped here.
    ///
    /// Streams are removed only by delivery (not by their `onTermination`): a stream's termination can run while
    /// its task's cancellation holds locks of the runtime, and taking this dispatcher's lock there would invert
    /// the order with a delivery that yields while holding it.
    mutating func deliver(_ event: InformerEvent<Object>) {
        for handler in handlers { handler(event) }
        var gone: [UInt64] = []
        for (id, continuation) in streams {
            if case .terminated = continuation.yield(event) { gone.append(id) }
        }
        for id in gone { streams.removeValue(forKey: id) }
    }

    /// Marks the dispatcher finished and hands back the open streams, to be finished outside the lock.
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
