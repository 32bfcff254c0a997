import Synchronization
import Testing
import ZeroMQ

@Suite("Heartbeat helper", .timeLimit(.minutes(1)))
struct HeartbeatTests {
    /// Binds an echo ROUTER like ipykernel's heartbeat (a QUEUE device on one ROUTER socket).
    private func bindEcho(on reactor: ZMQReactor, endpoint: String = "tcp://127.0.0.1:*") async throws
        -> (ZMQSocketID, String)
    {
        let echo = Mutex<ZMQSocketID?>(nil)
        let id = try await reactor.open(.router, endpoint: endpoint, bind: true) { frames in
            if let id = echo.withLock({ $0 }) { reactor.send(frames, on: id) }
        }
        echo.withLock { $0 = id }
        return (id, try await reactor.lastEndpoint(id))
    }

    @Test("ping returns a round-trip time while the peer echoes, nil when it does not")
    func pingEcho() async throws {
        let kernel = ZMQReactor(name: "test-hb-kernel")
        let gateway = ZMQReactor(name: "test-hb-gateway")
        defer {
            kernel.shutdown()
            gateway.shutdown()
        }
        let (echo, endpoint) = try await bindEcho(on: kernel)
        let heartbeat = try await ZMQHeartbeat(reactor: gateway, endpoint: endpoint)
        let first = await heartbeat.ping(timeout: .seconds(3))
        #expect(first != nil)
        #expect(await heartbeat.ping(timeout: .seconds(3)) != nil)

        kernel.close(echo)
        #expect(await eventually { kernel.socketCount == 0 })
        let start = ContinuousClock.now
        #expect(await heartbeat.ping(timeout: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - start < .seconds(2))

        // The kernel comes back on the same port: the heartbeat reconnects.
        _ = try await bindEcho(on: kernel, endpoint: endpoint)
        var recovered = false
        for _ in 0..<20 where !recovered {
            recovered = await heartbeat.ping(timeout: .milliseconds(250)) != nil
        }
        #expect(recovered)
        #expect(gateway.socketCount == 1)
        heartbeat.close()
        #expect(await heartbeat.ping(timeout: .milliseconds(100)) == nil)
        #expect(await eventually { gateway.socketCount == 0 })
    }

    @Test("a zero timeout and overlapping pings return promptly")
    func edgeCases() async throws {
        let kernel = ZMQReactor(name: "test-hb-edge-k")
        let gateway = ZMQReactor(name: "test-hb-edge-g")
        defer {
            kernel.shutdown()
            gateway.shutdown()
        }
        let (_, endpoint) = try await bindEcho(on: kernel)
        let heartbeat = try await ZMQHeartbeat(reactor: gateway, endpoint: endpoint)
        _ = await heartbeat.ping(timeout: .zero)
        async let first = heartbeat.ping(timeout: .seconds(3))
        async let second = heartbeat.ping(timeout: .seconds(3))
        let results = await [first, second]
        #expect(results.contains { $0 != nil })
        #expect(await heartbeat.ping(timeout: .seconds(3)) != nil)
    }
}
