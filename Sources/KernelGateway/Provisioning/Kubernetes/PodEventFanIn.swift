import KubernetesAPI
import KubernetesRuntime
import Synchronization

/// Pod changes of every watched namespace as one stream per subscriber: each namespace's pod informer hands its
/// changes here (``deliver(_:)``, on the informer's task), and every open stream gets them in that order.
final class PodEventFanIn: Sendable {
    private struct State {
        var nextID: UInt64 = 0
        var streams: [UInt64: AsyncStream<InformerEvent<KubeObject>>.Continuation] = [:]
    }
    private let state = Mutex(State())

    /// A new stream of pod changes, first replaying what `existing` returns as `.added`. `existing` is read under
    /// the same lock as deliveries, so no change falls between the replay and the stream (one may come twice).
    func subscribe(replaying existing: () -> [KubeObject]) -> AsyncStream<InformerEvent<KubeObject>> {
        let (stream, continuation) = AsyncStream.makeStream(of: InformerEvent<KubeObject>.self)
        state.withLock { state in
            for object in existing() { continuation.yield(.added(object)) }
            state.streams[state.nextID] = continuation
            state.nextID += 1
        }
        return stream
    }

    /// Hands a change to every open stream; drops streams whose reader went away.
    func deliver(_ event: InformerEvent<KubeObject>) {
        state.withLock { state in
            for (id, continuation) in state.streams {
                if case .terminated = continuation.yield(event) { state.streams.removeValue(forKey: id) }
            }
        }
    }

    /// Ends every stream (the watches stopped).
    func finish() {
        let streams = state.withLock { state in
            defer { state.streams.removeAll() }
            return Array(state.streams.values)
        }
        for continuation in streams { continuation.finish() }
    }
}
