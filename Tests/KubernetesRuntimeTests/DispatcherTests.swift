import KubernetesAPI
import Synchronization
import Testing

@testable import KubernetesRuntime

@Suite("informer dispatcher")
struct DispatcherTests {
    private func pod(_ name: String) -> KubeObject {
        KubeObject(.pods, name: name, namespace: "test")
    }

    @Test func streamsWhoseConsumerWentAwayAreDroppedAtTheNextDelivery() async {
        var dispatcher = Dispatcher<KubeObject>()
        let (live, liveContinuation) = AsyncStream.makeStream(of: InformerEvent<KubeObject>.self)
        let (_, goneContinuation) = AsyncStream.makeStream(of: InformerEvent<KubeObject>.self)
        _ = dispatcher.addStream(liveContinuation)
        _ = dispatcher.addStream(goneContinuation)
        goneContinuation.finish()  // as when its consumer was cancelled
        #expect(dispatcher.streams.count == 2)

        dispatcher.deliver(.added(pod("a")))

        #expect(dispatcher.streams.count == 1)
        var iterator = live.makeAsyncIterator()
        let first = await iterator.next()
        guard case .added(let object)? = first else {
            Issue.record("expected the added event, got \(String(describing: first))")
            return
        }
        #expect(object.name == "a")
    }

    /// Consumers cancelled while events are being delivered (what a launch's wait does when another of its
    /// tasks wins): delivery never waits for them. The informer used to deadlock here, wedging the gateway.
    @Test(.timeLimit(.minutes(1)))
    func consumersCancelledDuringDeliveryNeverBlockIt() async throws {
        try await withTestClient("http://127.0.0.1:1") { client in
            try await deliverWhileConsumersAreCancelled(Informer<KubeObject>(client: client, resource: .pods, namespace: "test"))
        }
    }

    private func deliverWhileConsumersAreCancelled(_ informer: Informer<KubeObject>) async throws {
        let delivered = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                var count = 0
                for i in 0..<20_000 {
                    informer.dispatcher.withLock { $0.deliver(.added(KubeObject(.pods, name: "p\(i)", namespace: "test"))) }
                    count += 1
                    if i % 64 == 0 { await Task.yield() }
                }
                return count
            }
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<200 {
                        let consumer = Task {
                            for await _ in informer.changes(replayExisting: false) {}
                        }
                        await Task.yield()
                        consumer.cancel()
                        await consumer.value
                    }
                    return 0
                }
            }
            return await group.reduce(0, +)
        }
        #expect(delivered == 20_000)
        // every cancelled consumer's stream is gone once one more event is delivered
        informer.dispatcher.withLock { $0.deliver(.added(KubeObject(.pods, name: "last", namespace: "test"))) }
        #expect(informer.dispatcher.withLock { $0.streams.count } == 0)
    }
}
