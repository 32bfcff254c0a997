import Foundation
import NIOCore
import NIOPosix

/// Sends requests to a kernel launcher's comm port (`comm_port` of its response): one TCP connection per request,
/// the JSON written, the connection closed; the launcher answers nothing.
public struct LauncherCommClient: Sendable {
    /// A request the launchers understand.
    public enum Request: Sendable, Equatable {
        /// `{"signum": n}`: the launcher sends signal `n` to the kernel (2 = SIGINT, an interrupt).
        case signal(Int32)
        /// `{"shutdown": 1}`: the launcher's listener stops (the kernel itself stops on its shutdown request).
        case shutdown

        /// An interrupt (`SIGINT`).
        public static let interrupt = Request.signal(2)

        /// The bytes sent.
        public var json: String {
            switch self {
            case .signal(let number): "{\"signum\": \(number)}"
            case .shutdown: "{\"shutdown\": 1}"
            }
        }
    }

    /// Longest wait for the connection.
    public var connectTimeout: Duration
    /// Longest wait for the request to be written.
    public var writeTimeout: Duration

    /// Creates a client.
    public init(connectTimeout: Duration = .seconds(3), writeTimeout: Duration = .seconds(3)) {
        self.connectTimeout = connectTimeout
        self.writeTimeout = writeTimeout
    }

    /// Sends `request` to `host:port` (`host` an IP address: the kernel pod's).
    /// - Throws: ``LauncherCommError/refused`` when nothing listens (the launcher is gone),
    ///   ``LauncherCommError/timedOut`` past a timeout, ``LauncherCommError/failed(_:)`` otherwise.
    public func send(_ request: Request, host: String, port: Int) async throws(LauncherCommError) {
        // Checked first: SocketAddress traps on a port that does not fit 16 bits.
        guard (1...65_535).contains(port) else { throw .failed("port \(port) is outside 1-65535") }
        let address: SocketAddress
        do { address = try SocketAddress(ipAddress: host, port: port) } catch { throw .failed("not an IP address: \(host)") }
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(connectTimeout))
                .connect(to: address).get()
            let limit = channel.eventLoop.scheduleTask(in: TimeAmount(writeTimeout)) { channel.close(promise: nil) }
            defer { limit.cancel() }
            do {
                try await channel.writeAndFlush(ByteBuffer(string: request.json)).get()
                try await channel.close().get()
            } catch ChannelError.ioOnClosedChannel {
                throw LauncherCommError.timedOut  // the write limit closed the channel
            } catch {
                channel.close(promise: nil)
                throw LauncherCommError.failed("write: \(error)")
            }
        } catch let error as LauncherCommError {
            throw error
        } catch ChannelError.connectTimeout(_) {
            throw .timedOut
        } catch let error as IOError where error.errnoCode == ECONNREFUSED {
            throw .refused
        } catch {
            throw .failed("\(error)")
        }
    }
}

/// Why a request to a launcher's comm port did not go out.
public enum LauncherCommError: Error, Equatable, CustomStringConvertible {
    /// Nothing listens on the comm port: the launcher (and so the kernel) is gone.
    case refused
    /// Connecting or writing took longer than allowed.
    case timedOut
    /// Any other failure.
    case failed(String)

    public var description: String {
        switch self {
        case .refused: "the kernel launcher's comm port refused the connection"
        case .timedOut: "the kernel launcher's comm port did not take the request in time"
        case .failed(let reason): "request to the kernel launcher's comm port failed: \(reason)"
        }
    }
}
