import Synchronization
import Testing
import ZeroMQ

/// `ZMQ_MAXMSGSIZE` is a backstop that makes libzmq drop the connection; the drop must be reported, never silent.
@Suite("ZMQ_MAXMSGSIZE", .timeLimit(.minutes(1)))
struct MaxMessageSizeTests {
    /// A PUB and a SUB limited to 1000-byte parts, once the subscription is live; `dropped` counts reports.
    private final class Pair: Sendable {
        let reactor: ZMQReactor
        let pub: ZMQSocketID
        let inbox = Inbox()
        let dropped = Atomic<Int>(0)

        init(_ name: String) async throws {
            reactor = ZMQReactor(name: name)
            pub = try await reactor.open(.pub, endpoint: "tcp://127.0.0.1:*", bind: true, onMessage: { _ in })
            var options = ZMQSocketOptions()
            options.maxMessageSize = 1000
            options.reconnectInterval = 10
            _ = try await reactor.open(.sub, endpoint: try await reactor.lastEndpoint(pub), options: options,
                                       onDropped: { [self] in dropped.add(1, ordering: .relaxed) }, onMessage: inbox.handler)
            let (reactor, pub, inbox) = (reactor, pub, inbox)
            _ = await eventually {
                if inbox.count > 0 { return true }
                reactor.send([bytes("small")], on: pub)
                return false
            }
        }
    }

    @Test("a message over the limit drops the connection and onDropped is told; small ones arrive")
    func oversizeIsReported() async throws {
        let pair = try await Pair("test-maxmsg")
        defer { pair.reactor.shutdown() }
        #expect(pair.inbox.count > 0)
        pair.reactor.send([ZMQFrame(repeating: 120, count: 5000)], on: pair.pub)
        #expect(await eventually { pair.dropped.load(ordering: .relaxed) == 1 })
        #expect(pair.inbox.all.allSatisfy { $0 == [bytes("small")] })
    }

    @Test("an ordinary loss of the peer is re-established, not reported as dropped")
    func ordinaryLossIsNotReported() async throws {
        let pair = try await Pair("test-maxmsg-loss")
        defer { pair.reactor.shutdown() }
        #expect(pair.inbox.count > 0)
        pair.reactor.close(pair.pub)
        try await Task.sleep(for: .milliseconds(800))
        #expect(pair.dropped.load(ordering: .relaxed) == 0)
    }
}
