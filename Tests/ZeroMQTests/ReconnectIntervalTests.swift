import Testing
import ZeroMQ

/// `ZMQSocketOptions.reconnectInterval` reaches libzmq: the gateway connects to a kernel before the kernel has
/// bound its ports, so how soon a refused connection is retried decides how soon the kernel is usable.
@Suite("Reconnect interval", .timeLimit(.minutes(1)))
struct ReconnectIntervalTests {
    /// Opens an immediate DEALER towards a free port that nobody has bound yet, then binds a ROUTER there;
    /// returns whether the DEALER connected within 1 s of the bind.
    private func connectsAfterLateBind(reconnectInterval: Int32?, gateway: ZMQReactor, kernel: ZMQReactor) async throws -> Bool {
        let (probe, endpoint) = try await bindRouter(on: kernel) { _ in }
        kernel.close(probe)
        try await Task.sleep(for: .milliseconds(50))
        var options = ZMQSocketOptions(identity: bytes("ej-late-bind"))
        options.immediate = true
        options.reconnectInterval = reconnectInterval
        let dealer = try await gateway.open(.dealer, endpoint: endpoint, options: options) { _ in }
        try await Task.sleep(for: .milliseconds(100))  // the first attempt was refused
        _ = try await kernel.open(.router, endpoint: endpoint, bind: true) { _ in }
        for _ in 0..<100 {
            if await gateway.hasConnectedPeer(dealer) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test("a short interval retries the refused connection and connects once the peer binds")
    func shortIntervalConnects() async throws {
        let gateway = ZMQReactor(name: "test-reconnect-gw-short"), kernel = ZMQReactor(name: "test-reconnect-kernel-short")
        defer { gateway.shutdown(); kernel.shutdown() }
        #expect(try await connectsAfterLateBind(reconnectInterval: 10, gateway: gateway, kernel: kernel))
    }

    @Test("the option is applied: -1 (never reconnect) leaves the refused socket unconnected after the bind")
    func optionIsApplied() async throws {
        let gateway = ZMQReactor(name: "test-reconnect-gw-never"), kernel = ZMQReactor(name: "test-reconnect-kernel-never")
        defer { gateway.shutdown(); kernel.shutdown() }
        #expect(try await connectsAfterLateBind(reconnectInterval: -1, gateway: gateway, kernel: kernel) == false)
    }

    @Test("a value libzmq refuses is an error when the socket is opened")
    func invalidValueIsRefused() async throws {
        let reactor = ZMQReactor(name: "test-reconnect-invalid")
        defer { reactor.shutdown() }
        var options = ZMQSocketOptions()
        options.reconnectInterval = -2
        await #expect(throws: ZMQError.self) {
            _ = try await reactor.open(.dealer, endpoint: "tcp://127.0.0.1:9", options: options) { _ in }
        }
    }
}
