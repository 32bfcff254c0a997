import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The response port of the kernel-launcher protocol: launchers connect, send their encrypted connection info and
/// close. Each connection is bounded in bytes and time; a payload is decoded with the gateway's key and offered to
/// ``launches``. Whatever is refused (garbage, a wrong key, an unknown kernel id, a replay, another sender, a
/// staller) is logged and dropped without effect on waiting launches or other connections.
public final class LaunchResponseListener: Service, Sendable {
    /// The launches waiting for a response.
    public let launches: PendingLaunches
    /// The settings in force.
    public let configuration: LaunchResponseListenerConfiguration
    /// The port actually bound.
    public let localPort: Int
    private let decoder: LaunchPayloadDecoder
    private let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
    private let logger: Logger
    private let active = Atomic<Int>(0)

    private init(launches: PendingLaunches, configuration: LaunchResponseListenerConfiguration, decoder: LaunchPayloadDecoder,
                 serverChannel: NIOAsyncChannel<AcceptedConnection, Never>, logger: Logger) {
        self.launches = launches
        self.configuration = configuration
        self.decoder = decoder
        self.serverChannel = serverChannel
        self.localPort = serverChannel.channel.localAddress?.port ?? configuration.port
        self.logger = logger
    }

    /// Binds the port (so that a port in use fails the start) and returns the listener; ``run()`` serves it.
    /// - Throws: ``LaunchResponseListenerError/invalidPort(_:)``, or the socket error of a failed bind.
    public static func bind(configuration: LaunchResponseListenerConfiguration, keyPair: LauncherKeyPair,
                            launches: PendingLaunches = PendingLaunches(), logger: Logger) async throws -> LaunchResponseListener {
        // Checked first: NIO traps on a port that does not fit 16 bits.
        guard (0...65_535).contains(configuration.port) else { throw LaunchResponseListenerError.invalidPort(configuration.port) }
        let timeout = TimeAmount(configuration.connectionTimeout)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 128)
            .bind(host: configuration.host, port: configuration.port) { child in
                child.eventLoop.makeCompletedFuture {
                    // The time limit covers the whole connection: closing ends its inbound stream.
                    let expiry = ConnectionExpiry()
                    let limit = child.eventLoop.scheduleTask(in: timeout) {
                        expiry.fired.store(true, ordering: .sequentiallyConsistent)
                        child.close(promise: nil)
                    }
                    child.closeFuture.whenComplete { _ in limit.cancel() }
                    // The peer's address is read now: a sender that already closed has none any more.
                    return AcceptedConnection(channel: try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: child),
                                              expiry: expiry, peer: child.remoteAddress?.ipAddress)
                }
            }
        let listener = LaunchResponseListener(launches: launches, configuration: configuration,
                                              decoder: LaunchPayloadDecoder(keyPair: keyPair), serverChannel: channel, logger: logger)
        logger.info("kernel launcher response port listening", metadata: ["host": "\(configuration.host)", "port": "\(listener.localPort)"])
        return listener
    }

    /// Serves connections until cancelled or a graceful shutdown; then the port is closed.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await self.serverChannel.executeThenClose { inbound in
                    for try await connection in inbound {
                        guard self.active.add(1, ordering: .relaxed).newValue <= self.configuration.maxConnections else {
                            self.active.subtract(1, ordering: .relaxed)
                            self.logger.warning("kernel launcher response connection refused: too many at once",
                                                metadata: ["limit": "\(self.configuration.maxConnections)"])
                            connection.channel.channel.close(promise: nil)
                            continue
                        }
                        group.addTask {
                            defer { self.active.subtract(1, ordering: .relaxed) }
                            await self.serve(connection)
                        }
                    }
                }
            }
        }
    }

    /// One accepted connection and whether its time limit closed it.
    struct AcceptedConnection: Sendable {
        var channel: NIOAsyncChannel<ByteBuffer, Never>
        var expiry: ConnectionExpiry
        var peer: String?
    }

    final class ConnectionExpiry: Sendable {
        let fired = Atomic<Bool>(false)
    }

    /// What reading one connection produced.
    private enum Received {
        case payload([UInt8])
        case tooLarge
        case stalled
        case failed(String)
    }

    private func serve(_ connection: AcceptedConnection) async {
        guard let peer = connection.peer else {
            logger.warning("kernel launcher response dropped: peer address unknown")
            connection.channel.channel.close(promise: nil)
            return
        }
        let received = await read(connection)
        var metadata: Logger.Metadata = ["peer": "\(peer)"]
        let bytes: [UInt8]
        switch received {
        case .payload(let payload): bytes = payload
        case .tooLarge:
            logger.warning("kernel launcher response dropped: too large",
                           metadata: metadata.merging(["limit": "\(configuration.maxPayloadBytes)"]) { $1 })
            return
        case .stalled:
            logger.warning("kernel launcher response dropped: sender too slow",
                           metadata: metadata.merging(["timeout": "\(configuration.connectionTimeout)"]) { $1 })
            return
        case .failed(let reason):
            logger.warning("kernel launcher response dropped: connection failed", metadata: metadata.merging(["error": "\(reason)"]) { $1 })
            return
        }
        let response: LauncherResponse
        do { response = try decoder.decode(bytes) } catch {
            metadata["reason"] = "\(error)"
            logger.warning("kernel launcher response dropped: undecodable", metadata: metadata)
            return
        }
        metadata["kernel_id"] = "\(response.kernelID)"
        let outcome = launches.deliver(response, from: peer)
        switch outcome {
        case .accepted: logger.info("kernel launcher response accepted", metadata: metadata)
        case .held: logger.debug("kernel launcher response held until the kernel's address is known", metadata: metadata)
        default:
            metadata["reason"] = "\(outcome.rawValue)"
            logger.warning("kernel launcher response dropped: refused", metadata: metadata)
        }
    }

    private func read(_ connection: AcceptedConnection) async -> Received {
        var bytes: [UInt8] = []
        let expired = { connection.expiry.fired.load(ordering: .sequentiallyConsistent) }
        do {
            return try await connection.channel.executeThenClose { inbound, _ in
                for try await buffer in inbound {
                    guard bytes.count + buffer.readableBytes <= configuration.maxPayloadBytes else { return .tooLarge }
                    bytes.append(contentsOf: buffer.readableBytesView)
                }
                // The stream ends on the sender's close or on the time limit's.
                if expired() { return .stalled }
                return bytes.isEmpty ? .failed("closed without data") : .payload(bytes)
            }
        } catch {
            return expired() ? .stalled : .failed("\(error)")
        }
    }
}

/// Why the response listener could not start (besides the socket errors of a failed bind).
public enum LaunchResponseListenerError: Error, Equatable {
    /// The configured port is outside 0–65535.
    case invalidPort(Int)
}
