import Testing
import ZeroMQ

@Suite("ROUTER/DEALER", .timeLimit(.minutes(1)))
struct RouterDealerTests {
    @Test("multipart round trip keeps the dealer's identity")
    func roundTripWithIdentity() async throws {
        let reactor = ZMQReactor(name: "test-router-dealer")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let atDealer = Inbox()
        let (router, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(!endpoint.hasSuffix(":*"))

        let identity = bytes("client-7")
        let dealer = try await reactor.open(
            .dealer, endpoint: endpoint, options: .init(identity: identity), onMessage: atDealer.handler)
        reactor.send([bytes("<IDS|MSG>"), bytes("sig"), bytes("{}"), []], on: dealer)

        #expect(await atRouter.waitFor(count: 1))
        let received = try #require(atRouter.all.first)
        #expect(received == [identity, bytes("<IDS|MSG>"), bytes("sig"), bytes("{}"), []])

        reactor.send([identity, bytes("reply"), [], bytes("end")], on: router)
        #expect(await atDealer.waitFor(count: 1))
        #expect(atDealer.all == [[bytes("reply"), [], bytes("end")]])
        #expect(reactor.socketCount == 2)
    }

    @Test("large and binary frames arrive intact")
    func largeAndBinaryFrames() async throws {
        let reactor = ZMQReactor(name: "test-large")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        let big = ZMQFrame((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let binary: ZMQFrame = [0, 255, 0, 1, 2]
        reactor.send([big, binary, []], on: dealer)
        #expect(await atRouter.waitFor(count: 1))
        let frames = try #require(atRouter.all.first)
        #expect(frames.count == 4)
        #expect(frames.dropFirst().elementsEqual([big, binary, []]))
    }

    @Test("the reactor thread carries the reactor's name, cut to 15 bytes")
    func threadName() async throws {
        let reactor = ZMQReactor(name: "zmq-rather-long-reactor-name")
        defer { reactor.shutdown() }
        #expect(reactor.name == "zmq-rather-long-reactor-name")
        let observed = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor) { _ in
            observed.handler([bytes(currentThreadName())])
        }
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        reactor.send([bytes("x")], on: dealer)
        #expect(await observed.waitFor(count: 1))
        #if os(Linux)
        #expect(observed.all.first == [bytes("zmq-rather-long")])
        #endif
    }

    @Test("handlers run on the reactor's own thread")
    func handlerRunsOnReactorThread() async throws {
        let reactor = ZMQReactor(name: "zmq-thread-test")
        defer { reactor.shutdown() }
        #expect(!reactor.isCurrentThread)
        let observed = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor) { _ in
            observed.handler([[reactor.isCurrentThread ? 1 : 0]])
        }
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        reactor.send([bytes("x")], on: dealer)
        #expect(await observed.waitFor(count: 1))
        #expect(observed.all.first == [[1]])
    }
}
