import Testing
import ZeroMQ

@Suite("PUB/SUB", .timeLimit(.minutes(1)))
struct PubSubTests {
    /// Publishes `frames` every 20 ms until `inbox` has a message (the slow-joiner problem:
    /// messages published before the subscription reached the publisher are dropped).
    private func publishUntilReceived(_ frames: [ZMQFrame], reactor: ZMQReactor, on pub: ZMQSocketID,
                                      inbox: Inbox) async -> Bool {
        await eventually(timeout: .seconds(5)) {
            if inbox.count > 0 { return true }
            reactor.send(frames, on: pub)
            return false
        }
    }

    @Test("a subscriber receives iopub-like multipart messages")
    func delivery() async throws {
        let reactor = ZMQReactor(name: "test-pubsub")
        defer { reactor.shutdown() }
        let inbox = Inbox()
        let pub = try await reactor.open(.pub, endpoint: "tcp://127.0.0.1:*", bind: true, onMessage: { _ in })
        let endpoint = try await reactor.lastEndpoint(pub)
        _ = try await reactor.open(.sub, endpoint: endpoint, onMessage: inbox.handler)

        let message = [bytes("kernel.abc.status"), bytes("<IDS|MSG>"), bytes("{\"execution_state\":\"idle\"}")]
        #expect(await publishUntilReceived(message, reactor: reactor, on: pub, inbox: inbox))
        #expect(inbox.all.allSatisfy { $0 == message })
    }

    @Test("subscription prefixes filter messages")
    func prefixFilter() async throws {
        let reactor = ZMQReactor(name: "test-pubsub-filter")
        defer { reactor.shutdown() }
        let inbox = Inbox()
        let pub = try await reactor.open(.pub, endpoint: "tcp://127.0.0.1:*", bind: true, onMessage: { _ in })
        let endpoint = try await reactor.lastEndpoint(pub)
        _ = try await reactor.open(.sub, endpoint: endpoint, options: .init(subscribe: [bytes("wanted")]),
                                   onMessage: inbox.handler)
        #expect(await eventually(timeout: .seconds(5)) {
            if inbox.count > 0 { return true }
            reactor.send([bytes("other"), bytes("1")], on: pub)
            reactor.send([bytes("wanted.topic"), bytes("2")], on: pub)
            return false
        })
        #expect(inbox.all.allSatisfy { $0 == [bytes("wanted.topic"), bytes("2")] })
    }
}
