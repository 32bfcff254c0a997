import Synchronization
import ZeroMQ

/// Collects the messages a handler receives on the reactor thread.
final class Inbox: Sendable {
    private let messages = Mutex<[[ZMQFrame]]>([])

    /// A handler to pass to `ZMQReactor.open`.
    var handler: @Sendable ([ZMQFrame]) -> Void {
        { [self] frames in messages.withLock { $0.append(frames) } }
    }

    var all: [[ZMQFrame]] { messages.withLock { $0 } }
    var count: Int { messages.withLock { $0.count } }

    /// Waits until at least `count` messages arrived; false after `timeout`.
    func waitFor(count: Int, timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { self.count >= count }
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// UTF-8 bytes of a string.
func bytes(_ text: String) -> ZMQFrame { Array(text.utf8) }

/// A big-endian 4-byte encoding of `value`.
func encode(_ value: Int) -> ZMQFrame {
    withUnsafeBytes(of: UInt32(value).bigEndian) { Array($0) }
}

/// The inverse of `encode`.
func decode(_ frame: ZMQFrame) -> Int {
    frame.reduce(0) { $0 << 8 | Int($1) }
}

/// A ROUTER bound on an ephemeral loopback port; returns its id and actual endpoint.
func bindRouter(
    on reactor: ZMQReactor, options: ZMQSocketOptions = .init(),
    onMessage: @escaping @Sendable ([ZMQFrame]) -> Void
) async throws -> (ZMQSocketID, String) {
    let id = try await reactor.open(.router, endpoint: "tcp://127.0.0.1:*", bind: true, options: options,
                                    onMessage: onMessage)
    return (id, try await reactor.lastEndpoint(id))
}
