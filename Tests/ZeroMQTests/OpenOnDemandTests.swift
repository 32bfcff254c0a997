import Testing
import ZeroMQ

/// Sockets opened on a hot path without waiting for the reactor thread, and `ZMQ_IMMEDIATE` sockets telling
/// whether their peer's handshake completed (the gateway's readiness check for a kernel's stdin).
@Suite("Open on demand", .timeLimit(.minutes(1)))
struct OpenOnDemandTests {
    @Test("messages sent right after openWithoutWaiting arrive in order, and replies come back")
    func sendRightAfterOpen() async throws {
        let reactor = ZMQReactor(name: "test-ondemand")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let (router, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        let atDealer = Inbox()
        let identity = bytes("ej-lazy")
        let opened = reactor.openWithoutWaiting(.dealer, endpoint: endpoint, options: .init(identity: identity),
                                                onMessage: atDealer.handler)
        let dealer = try #require(opened)
        for i in 0..<50 { reactor.send([encode(i)], on: dealer) }

        #expect(await atRouter.waitFor(count: 50))
        #expect(atRouter.all.map { decode($0[1]) } == Array(0..<50))
        #expect(atRouter.all.allSatisfy { $0[0] == identity })
        reactor.send([identity, bytes("reply")], on: router)
        #expect(await atDealer.waitFor(count: 1))
        #expect(atDealer.all.first == [bytes("reply")])
    }

    @Test("a bad endpoint is reported to onFailure, and sends to that socket are ignored")
    func failureIsReported() async throws {
        let reactor = ZMQReactor(name: "test-ondemand-fail")
        defer { reactor.shutdown() }
        let failures = Inbox()
        let record = failures.handler
        let opened = reactor.openWithoutWaiting(.dealer, endpoint: "nonsense://x", onFailure: { _ in record([bytes("failed")]) },
                                                onMessage: { _ in })
        let id = try #require(opened)
        reactor.send([bytes("lost")], on: id)
        #expect(await failures.waitFor(count: 1))
        // the reactor still works
        let (_, endpoint) = try await bindRouter(on: reactor) { _ in }
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
    }

    @Test("an immediate socket has a connected peer only once its peer is bound and the handshake is done")
    func immediateTellsWhetherThePeerIsUp() async throws {
        let gateway = ZMQReactor(name: "test-immediate-gw")
        let kernel = ZMQReactor(name: "test-immediate-kernel")
        defer { gateway.shutdown(); kernel.shutdown() }
        let (probe, endpoint) = try await bindRouter(on: kernel) { _ in }
        kernel.close(probe)  // a free port, nobody bound
        try await Task.sleep(for: .milliseconds(50))
        var options = ZMQSocketOptions(identity: bytes("ej-stdin"))
        options.immediate = true
        let stdin = try await gateway.open(.dealer, endpoint: endpoint, options: options) { _ in }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await gateway.hasConnectedPeer(stdin) == false)

        let atKernel = Inbox()
        let router = try await kernel.open(.router, endpoint: endpoint, bind: true, onMessage: atKernel.handler)
        var connected = false
        for _ in 0..<200 where !connected {
            connected = await gateway.hasConnectedPeer(stdin)
            if !connected { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(connected)
        // once connected, the kernel side can route to the gateway by identity (a new connection gets a new
        // identity, as the gateway's do: a ROUTER ignores a reused one while it still holds the old pipe)
        let atGateway = Inbox()
        gateway.close(stdin)
        var fresh = options
        fresh.identity = bytes("ej-stdin-2")
        let again = try await gateway.open(.dealer, endpoint: endpoint, options: fresh, onMessage: atGateway.handler)
        for _ in 0..<200 where !(await gateway.hasConnectedPeer(again)) { try await Task.sleep(for: .milliseconds(10)) }
        kernel.send([bytes("ej-stdin-2"), bytes("input_request")], on: router)
        #expect(await atGateway.waitFor(count: 1))
        #expect(await gateway.hasConnectedPeer(stdin) == false)  // closed
    }
}
