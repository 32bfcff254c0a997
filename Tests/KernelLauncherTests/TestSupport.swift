import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Records log lines (message and metadata) for assertions.
final class LogRecorder: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    /// Waits (at most `timeout`) for a line matching `predicate`.
    func waitFor(_ timeout: Duration = .seconds(10), _ predicate: (Line) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if all.contains(where: predicate) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return all.contains(where: predicate)
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var values: [String: String] = [:]
            for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { values[key] = "\(value)" }
            recorder.append(Line(level: event.level, message: "\(event.message)", metadata: values))
        }
    }
}

/// A TCP client for tests: connects from a chosen loopback source address, writes bytes, then closes or holds.
enum RawSender {
    /// Sends `bytes` to `127.0.0.1:port` from `source` and closes; write errors (the server hung up) are ignored.
    static func send(_ bytes: [UInt8], port: Int, from source: String = "127.0.0.1") async throws {
        let channel = try await connect(port: port, from: source)
        _ = try? await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        _ = try? await channel.close().get()
    }

    /// Sends `bytes` and keeps the connection open for at most `hold`; returns how long the server took to close it
    /// (`nil`: it did not within `hold`).
    static func stall(_ bytes: [UInt8], port: Int, hold: Duration) async throws -> Duration? {
        let channel = try await connect(port: port, from: "127.0.0.1")
        let started = ContinuousClock.now
        _ = try? await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
        let closedAfter: Duration? = await withTaskGroup(of: Duration?.self) { group in
            group.addTask {
                _ = try? await channel.closeFuture.get()
                return ContinuousClock.now - started
            }
            group.addTask {
                try? await Task.sleep(for: hold)
                return nil
            }
            let first = await group.next() ?? nil
            channel.close(promise: nil)
            group.cancelAll()
            return first
        }
        return closedAfter
    }

    private static func connect(port: Int, from source: String) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: port)).get()
    }
}
