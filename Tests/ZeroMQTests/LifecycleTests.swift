import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZeroMQ

@Suite("Lifecycle and errors", .timeLimit(.minutes(1)))
struct LifecycleTests {
    @Test("sending on a closed socket is harmless and close is idempotent")
    func closeThenSend() async throws {
        let reactor = ZMQReactor(name: "test-close")
        defer { reactor.shutdown() }
        let atRouter = Inbox()
        let (_, endpoint) = try await bindRouter(on: reactor, onMessage: atRouter.handler)
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        #expect(reactor.socketCount == 2)
        reactor.close(dealer)
        reactor.send([bytes("after close")], on: dealer)
        reactor.close(dealer)
        #expect(await eventually { reactor.socketCount == 1 })
        await #expect(throws: ZMQError.self) { try await reactor.lastEndpoint(dealer) }

        // The reactor still works.
        let second = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        reactor.send([bytes("still alive")], on: second)
        #expect(await atRouter.waitFor(count: 1))
        #expect(atRouter.all.allSatisfy { $0.last == bytes("still alive") })
    }

    @Test("shutdown is idempotent, closes every socket, and later calls are harmless")
    func shutdownIdempotent() async throws {
        let reactor = ZMQReactor(name: "test-shutdown")
        let (router, endpoint) = try await bindRouter(on: reactor) { _ in }
        _ = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        _ = try await reactor.open(.sub, endpoint: endpoint, onMessage: { _ in })
        #expect(reactor.socketCount == 3)
        #expect(!reactor.isShutDown)

        reactor.shutdown()
        #expect(reactor.socketCount == 0)
        #expect(reactor.isShutDown)
        reactor.shutdown()
        #expect(reactor.socketCount == 0)

        reactor.send([bytes("ignored")], on: router)
        reactor.close(router)
        await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        }
        await #expect(throws: ZMQError.self) { try await reactor.lastEndpoint(router) }
    }

    @Test("concurrent shutdowns all return after the sockets are closed")
    func concurrentShutdown() async throws {
        let reactor = ZMQReactor(name: "test-shutdown-race")
        _ = try await bindRouter(on: reactor) { _ in }
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    reactor.shutdown()
                    return reactor.socketCount
                }
            }
            for await count in group { #expect(count == 0) }
        }
    }

    @Test("shutdown from inside a handler does not deadlock")
    func shutdownFromHandler() async throws {
        let reactor = ZMQReactor(name: "test-shutdown-handler")
        let (_, endpoint) = try await bindRouter(on: reactor) { [weak reactor] _ in reactor?.shutdown() }
        let dealer = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        reactor.send([bytes("stop")], on: dealer)
        #expect(await eventually { reactor.isShutDown && reactor.socketCount == 0 })
        reactor.shutdown()
    }

    @Test("bad endpoints throw ZMQError", arguments: [
        ("bogus://127.0.0.1:1", false),
        ("tcp://127.0.0.1", false),
        ("tcp://127.0.0.1:notaport", true),
        ("not an endpoint", true),
    ])
    func badEndpoint(endpoint: String, bind: Bool) async throws {
        let reactor = ZMQReactor(name: "test-bad-endpoint")
        defer { reactor.shutdown() }
        let error = await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.dealer, endpoint: endpoint, bind: bind, onMessage: { _ in })
        }
        #expect(error?.code != 0)
        #expect(error?.description.contains(endpoint) == true)
        #expect(reactor.socketCount == 0)
    }

    @Test("binding an address in use throws ZMQError")
    func addressInUse() async throws {
        let reactor = ZMQReactor(name: "test-in-use")
        defer { reactor.shutdown() }
        let (_, endpoint) = try await bindRouter(on: reactor) { _ in }
        await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.router, endpoint: endpoint, bind: true, onMessage: { _ in })
        }
        #expect(reactor.socketCount == 1)
    }

    @Test("an invalid identity throws ZMQError", arguments: [ZMQFrame(), ZMQFrame(repeating: 65, count: 256)])
    func invalidIdentity(identity: ZMQFrame) async throws {
        let reactor = ZMQReactor(name: "test-bad-identity")
        defer { reactor.shutdown() }
        let error = await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.dealer, endpoint: "tcp://127.0.0.1:1",
                                       options: .init(identity: identity), onMessage: { _ in })
        }
        #expect(error?.code == EINVAL)
        #expect(reactor.socketCount == 0)
    }

    @Test("terminating a context closes the sockets of its reactors")
    func contextTermination() async throws {
        let context = ZMQContext()
        let reactor = ZMQReactor(name: "test-terminate", context: context)
        defer { reactor.shutdown() }
        let (_, endpoint) = try await bindRouter(on: reactor) { _ in }
        _ = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        #expect(reactor.socketCount == 2)
        context.terminate()
        #expect(context.isTerminated)
        #expect(reactor.socketCount == 0)
        context.terminate()
        await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.dealer, endpoint: endpoint, onMessage: { _ in })
        }
    }

    @Test("the shared context allows more sockets than libzmq's default of 1023")
    func sharedContextLimit() {
        #expect(ZMQContext.shared.maxSockets > 1023)
    }

    @Test("a dropped reactor stops its thread")
    func deinitShutsDown() async throws {
        var reactor: ZMQReactor? = ZMQReactor(name: "test-deinit")
        _ = try await bindRouter(on: reactor!) { _ in }
        weak let weakReactor = reactor
        reactor = nil
        #expect(weakReactor == nil)
    }
}
