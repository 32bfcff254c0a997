import CZeroMQ
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state and main loop of one reactor thread.
///
/// Everything here is touched only by that thread (hence `@unchecked Sendable`: the object is
/// handed to the thread once and never used elsewhere). Other threads talk to it through the
/// ``ReactorMailbox``.
///
/// ## How sockets are watched
/// `zmq_poll` is given each socket's `ZMQ_FD` (plus the mailbox's wake descriptor) rather than
/// the sockets themselves. Polling sockets directly makes libzmq query `ZMQ_EVENTS` of every
/// socket on every round — a system call each — so a reactor with a thousand idle sockets would
/// add milliseconds to every message. `ZMQ_FD` only says "the events of this socket may have
/// changed" and libzmq may consume that signal inside `zmq_send`/`zmq_msg_recv`, so the loop
/// keeps an *attention list*: sockets whose descriptor fired or that were just used. Each is
/// serviced (read `ZMQ_EVENTS`, receive, flush) and then checked once more; a socket that still
/// has work stays on the list and the next `zmq_poll` does not block. A socket leaves the list
/// only after a `ZMQ_EVENTS` read showed nothing to do, which re-arms its descriptor.
final class ReactorLoop: @unchecked Sendable {
    /// Messages delivered from one socket before the loop turns to the other sockets and the
    /// command queue. The rest is received on the next round (the socket stays on the attention
    /// list), so this only interleaves sockets fairly; nothing waits for a timeout.
    static let receiveBudget = 1024

    let mailbox: ReactorMailbox
    let context: ZMQContext
    var sockets: [ZMQSocketID: SocketEntry] = [:]
    /// Index 0 is the mailbox wake descriptor; the rest mirror `pollEntries`.
    var pollItems: [zmq_pollitem_t] = []
    var pollEntries: [SocketEntry?] = []
    var pollSetDirty = true
    /// Sockets to service before blocking again (see the type's documentation).
    var attention: [SocketEntry] = []
    private var attentionSpare: [SocketEntry] = []
    var running = true
    /// Connections watched for being dropped for good (see ``ConnectionWatch``).
    var watch = ConnectionWatch()
    /// The one receive buffer, reused for every frame.
    let message: UnsafeMutablePointer<zmq_msg_t>

    init(mailbox: ReactorMailbox, context: ZMQContext) {
        self.mailbox = mailbox
        self.context = context
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Runs until a `shutdown` command arrives, then closes every socket and the wake descriptor.
    func run() {
        while running {
            if pollSetDirty { rebuildPollSet() }
            let timeout = attention.isEmpty ? watch.pollTimeout(now: .now) : 0
            let ready = pollItems.withUnsafeMutableBufferPointer {
                zmq_poll($0.baseAddress, Int32($0.count), timeout)
            }
            if ready < 0 {
                handlePollError(zmq_errno())
                continue
            }
            if ready > 0 {
                if pollItems[0].revents != 0 {
                    runCommands(mailbox.takeAll())
                    if !running { break }
                }
                for index in 1..<pollItems.count where pollItems[index].revents != 0 {
                    if let entry = pollEntries[index], entry.isOpen { markForAttention(entry) }
                }
            }
            serviceAttention()
            if mailbox.hasCommands {
                runCommands(mailbox.takeAll())
                serviceAttention()
            }
            if !watch.deadlines.isEmpty { reportDroppedConnections() }
        }
        closeAllSockets()
        mailbox.wake.close()
    }

    private func handlePollError(_ code: Int32) {
        if code == EINTR { return }
        // Should not happen (every polled descriptor is open). Rebuild and avoid a busy loop.
        pollSetDirty = true
        usleep(1_000)
    }

    /// Rebuilds the poll arrays after sockets were opened or closed.
    private func rebuildPollSet() {
        pollItems.removeAll(keepingCapacity: true)
        pollEntries.removeAll(keepingCapacity: true)
        let readable = Int16(ZMQ_POLLIN)
        pollItems.append(zmq_pollitem_t(socket: nil, fd: mailbox.wake.readFD, events: readable, revents: 0))
        pollEntries.append(nil)
        for entry in sockets.values {
            pollItems.append(zmq_pollitem_t(socket: nil, fd: entry.notifyFD, events: readable, revents: 0))
            pollEntries.append(entry)
        }
        pollSetDirty = false
    }

    /// Puts `entry` on the attention list (once).
    func markForAttention(_ entry: SocketEntry) {
        guard !entry.needsAttention else { return }
        entry.needsAttention = true
        attention.append(entry)
    }

    /// Services every socket on the attention list; those with work left go back on it.
    private func serviceAttention() {
        guard !attention.isEmpty else { return }
        swap(&attention, &attentionSpare)
        for entry in attentionSpare {
            entry.needsAttention = false
            if entry.isOpen { service(entry) }
        }
        attentionSpare.removeAll(keepingCapacity: true)
    }

    /// Closes one socket (and its monitor); unknown ids are ignored.
    func closeSocket(_ id: ZMQSocketID) {
        guard let entry = sockets.removeValue(forKey: id) else { return }
        // A watched socket stops its monitor first and the monitor's reading end is closed before the socket:
        // closing a socket whose monitor is still attached wedged libzmq after many concurrent closes.
        if let monitor = watch.forget(id) {
            if let handle = entry.handle { zmq_socket_monitor(handle, nil, 0) }
            sockets.removeValue(forKey: monitor)?.close()  // monitor sockets are not counted
        }
        entry.close()
        pollSetDirty = true
        mailbox.socketCount.subtract(1, ordering: .relaxed)
    }

    /// Closes every socket (shutdown or context termination).
    func closeAllSockets() {
        guard !sockets.isEmpty else { return }
        // As in closeSocket: monitors are stopped and their reading ends closed before the watched sockets.
        for (watched, monitor) in watch.monitors {
            if let handle = sockets[watched]?.handle { zmq_socket_monitor(handle, nil, 0) }
            sockets[monitor]?.close()
        }
        for entry in sockets.values { entry.close() }
        mailbox.socketCount.subtract(sockets.count - watch.monitors.count, ordering: .relaxed)
        sockets.removeAll()
        watch = ConnectionWatch()
        pollSetDirty = true
    }
}
