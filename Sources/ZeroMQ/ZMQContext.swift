import CZeroMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libzmq context: the I/O threads and the socket table shared by all reactors.
///
/// Use ``shared`` unless a test needs isolation. The shared context raises libzmq's default
/// limit of 1023 sockets (one gateway may hold 200+ kernels × 5 sockets); the process still
/// needs a file-descriptor limit of roughly three descriptors per socket.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked: `handle` is immutable and libzmq contexts are thread-safe; the only mutable
    // state, `terminated`, is behind a Mutex.

    /// The process-wide context.
    public static let shared = ZMQContext()

    private let handle: UnsafeMutableRawPointer?
    private let terminated = Mutex(false)

    /// Creates a context.
    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads (`ZMQ_IO_THREADS`); one handles about a gigabyte per second.
    ///   - maxSockets: `ZMQ_MAX_SOCKETS`, clamped to libzmq's `ZMQ_SOCKET_LIMIT`.
    public init(ioThreads: Int32 = 1, maxSockets: Int32 = 65_535) {
        handle = zmq_ctx_new()
        guard let handle else { return }
        zmq_ctx_set(handle, ZMQ_IO_THREADS, max(1, ioThreads))
        let limit = zmq_ctx_get(handle, ZMQ_SOCKET_LIMIT)
        let wanted = limit > 0 ? min(maxSockets, limit) : maxSockets
        zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, max(1, wanted))
        // Unsent messages never keep `zmq_ctx_term` waiting.
        zmq_ctx_set(handle, ZMQ_BLOCKY, 0)
    }

    deinit {
        terminate()
    }

    /// The effective `ZMQ_MAX_SOCKETS` (0 if the context could not be created).
    public var maxSockets: Int32 {
        terminated.withLock { isDone in
            guard !isDone, let handle else { return 0 }
            return zmq_ctx_get(handle, ZMQ_MAX_SOCKETS)
        }
    }

    /// Whether ``terminate()`` has been called.
    public var isTerminated: Bool {
        terminated.withLock { $0 }
    }

    /// Shuts the context down: reactors see `ETERM`, close their sockets and keep running
    /// without them; later `open` calls throw. Blocks until every socket of this context
    /// is closed. Idempotent. Terminating ``shared`` is meant for process exit only.
    public func terminate() {
        let shouldTerminate = terminated.withLock { isDone -> Bool in
            if isDone { return false }
            isDone = true
            if let handle { zmq_ctx_shutdown(handle) }
            return true
        }
        guard shouldTerminate, let handle else { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Creates a raw socket. Called on a reactor thread only.
    func makeSocket(_ type: ZMQSocketType) throws(ZMQError) -> UnsafeMutableRawPointer {
        let result: Result<UnsafeMutableRawPointer, ZMQError> = terminated.withLock { isDone in
            guard !isDone, let handle else { return .failure(.terminated("zmq_socket(\(type))")) }
            guard let socket = zmq_socket(handle, type.rawZMQType) else {
                return .failure(.last("zmq_socket(\(type))"))
            }
            return .success(socket)
        }
        return try result.get()
    }
}
