import Synchronization

/// A fixed set of reactors, so that many kernels' sockets are spread over a few threads.
///
/// Each `zmq_poll` round costs time proportional to the sockets of that reactor, so a gateway
/// with hundreds of kernels should spread them (e.g. 2–8 reactors) and keep all sockets of
/// one kernel on the same reactor.
public final class ZMQReactorPool: Sendable {
    /// The reactors, named `<name>-0`, `<name>-1`, ….
    public let reactors: [ZMQReactor]
    private let cursor = Atomic<Int>(0)

    /// Starts `count` reactors (at least one).
    public init(name: String = "zmq-reactor", count: Int, context: ZMQContext = .shared) {
        reactors = (0..<max(1, count)).map { ZMQReactor(name: "\(name)-\($0)", context: context) }
    }

    /// The next reactor in round-robin order.
    public func next() -> ZMQReactor {
        let index = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return reactors[Int(UInt(bitPattern: index) % UInt(reactors.count))]
    }

    /// The reactor with the fewest open sockets right now.
    public func leastLoaded() -> ZMQReactor {
        reactors.min { $0.socketCount < $1.socketCount } ?? reactors[0]
    }

    /// Total open sockets over all reactors.
    public var socketCount: Int {
        reactors.reduce(0) { $0 + $1.socketCount }
    }

    /// Shuts every reactor down. Idempotent.
    public func shutdown() {
        for reactor in reactors { reactor.shutdown() }
    }
}
