import CZeroMQ

/// A socket owned by a reactor loop, with its handler and pending output.
/// Only the reactor thread touches an entry.
final class SocketEntry {
    let id: ZMQSocketID
    let type: ZMQSocketType
    /// The libzmq socket; nil once closed.
    private(set) var handle: UnsafeMutableRawPointer?
    /// The socket's notification descriptor (`ZMQ_FD`), polled instead of the socket itself.
    let notifyFD: Int32
    let onMessage: @Sendable ([ZMQFrame]) -> Void
    /// Called when libzmq drops the connection for good (watched sockets only).
    var onDropped: (@Sendable () -> Void)?
    /// Messages waiting until libzmq accepts them.
    var outbox = Outbox()
    /// Frames of a multipart message still being received.
    var incoming: [ZMQFrame] = []
    /// Already in the loop's attention list.
    var needsAttention = false

    init(id: ZMQSocketID, type: ZMQSocketType, handle: UnsafeMutableRawPointer, notifyFD: Int32,
         onMessage: @escaping @Sendable ([ZMQFrame]) -> Void) {
        self.id = id
        self.type = type
        self.handle = handle
        self.notifyFD = notifyFD
        self.onMessage = onMessage
    }

    /// Whether the socket is still open.
    var isOpen: Bool { handle != nil }

    /// Current `ZMQ_EVENTS` (`ZMQ_POLLIN`/`ZMQ_POLLOUT` bits); reading it also lets libzmq process
    /// its internal commands and re-arms ``notifyFD``. Nil on error (`zmq_errno()` tells which).
    func readEvents() -> Int32? {
        guard let handle else { return nil }
        var events: Int32 = 0
        var size = MemoryLayout<Int32>.size
        return zmq_getsockopt(handle, ZMQ_EVENTS, &events, &size) == 0 ? events : nil
    }

    /// Closes the libzmq socket with linger 0 and forgets pending data. Idempotent.
    func close() {
        guard let handle else { return }
        var linger: Int32 = 0
        zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        zmq_close(handle)
        self.handle = nil
        outbox.removeAll()
        incoming = []
    }
}
