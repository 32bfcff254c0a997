import CZeroMQ

/// Tells a connection that libzmq dropped for good from one it is re-establishing, from a socket's monitor events.
///
/// libzmq reconnects a connecting socket after an ordinary loss (the peer went away): `ZMQ_EVENT_DISCONNECTED` is
/// followed at once by `ZMQ_EVENT_CONNECT_RETRIED`. After a protocol error, e.g. a peer's message larger than
/// `ZMQ_MAXMSGSIZE`, the connection is dropped and never retried: a disconnect with no retry within ``grace``
/// is reported as dropped. Reactor thread only.
struct ConnectionWatch {
    /// How long after a disconnect a retry must be announced.
    static let grace: Duration = .milliseconds(250)
    /// The monitor events watched.
    static let events: Int32 = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED

    /// Watched socket → the monitor socket reading its events.
    var monitors: [ZMQSocketID: ZMQSocketID] = [:]
    /// Watched sockets disconnected without a retry yet → when they count as dropped.
    var deadlines: [ZMQSocketID: ContinuousClock.Instant] = [:]

    /// The event number of a monitor message's first frame (16-bit event, 32-bit value, native byte order).
    static func event(_ frames: [ZMQFrame]) -> Int32? {
        guard let first = frames.first, first.count >= 2 else { return nil }
        return Int32(first.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) })
    }

    /// Records one monitor event of `socket`.
    mutating func note(_ event: Int32, on socket: ZMQSocketID, now: ContinuousClock.Instant) {
        if event == ZMQ_EVENT_DISCONNECTED {
            deadlines[socket] = now + Self.grace
        } else {
            deadlines.removeValue(forKey: socket)
        }
    }

    /// Removes and returns the sockets whose grace has passed.
    mutating func expired(now: ContinuousClock.Instant) -> [ZMQSocketID] {
        let due = deadlines.filter { $0.value <= now }.map(\.key)
        for id in due { deadlines.removeValue(forKey: id) }
        return due
    }

    /// Milliseconds `zmq_poll` may block before the next deadline; -1 when none is pending.
    func pollTimeout(now: ContinuousClock.Instant) -> Int {
        guard let next = deadlines.values.min() else { return -1 }
        let left = now.duration(to: next)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000) + 1
    }

    /// Forgets a socket; returns its monitor socket, to be closed.
    mutating func forget(_ socket: ZMQSocketID) -> ZMQSocketID? {
        deadlines.removeValue(forKey: socket)
        return monitors.removeValue(forKey: socket)
    }
}
