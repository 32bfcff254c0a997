import Testing
import ZeroMQ

/// `ZMQSocketOptions.reconnectInterval` reaches libzmq: the gateway connects to a kernel before the kernel has
/// bound its ports, so how soon a refused connection is retried decides how soon the kernel is usable.
@Suite("Reconnect interval", .timeLimit(.minutes(1)))
struct ReconnectIntervalTests {
    /// Opens an immediate DEALER towards a free port that nobody has bound yet, then binds a ROUTER there.
    private func connectBeforeBind(reconnectInterval: Int32?, name: String) async throws -> (connected: Bool, done: () -> Void) {
        let gateway = ZMQReactor(name: "test-reconnect-gw-\(name)")
        let kernel = ZMQReactor(name: "test-reconnect-kernel-\(name)")
        let (probe, endpoint) = try await bindRouter(on: kernel) { _ in }
        kernel.close(probe)
        try await Task.sleep(for: .milliseconds(50))
        var options = ZMQSocketOptions(identity: bytes("ej-\(name)"))
        options.immediate = true
        options.reconnectInterval = reconnectInterval
        let dealer = try await gateway.open(.dealer, endpoint: endpoint, options: options) { _ in }
        try await Task.sleep(for: .milliseconds(100))  // the first attempt was refused
        _ = try await kernel.open(.router, endpoint: endpoint, bind: true) { _ in }
        var connected = false
        for _ in 0..<100 where !connected {
            connected = await gateway.hasConnectedPeer(dealer)
            if !connected { try await Task.sleep(for: .milliseconds(10)) }
        }
        return (connected, { gateway.shutdown(); kernel.shutdown() })
    }

    @Test("a short interval retries the refused connection and connects once the peer binds")
    func shortIntervalConnects() async throws {
        let outcome = try await connectBeforeBind(reconnectInterval: 10, name: "short")
        defer { outcome.done() }
        #expect(outcome.connected)
    }

    @Test("the option is applied: -1 (never reconnect) leaves the refused socket unconnected after the bind")
    func optionIsApplied() async throws {
        let outcome = try await connectBeforeBind(reconnectInterval: -1, name: "never")
        defer { outcome.done() }
        #expect(outcome.connected == false)
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
