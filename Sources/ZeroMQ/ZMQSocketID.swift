import Synchronization

/// Identifies a socket registered with a reactor.
///
/// Ids are unique for the whole process and never reused, so a stale id can never reach
/// another socket: operations on a closed or unknown id are ignored (or throw, for queries).
public struct ZMQSocketID: Hashable, Sendable, CustomStringConvertible {
    /// The process-unique number of this socket.
    public let rawValue: UInt64

    init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// `zmq-socket-<n>`.
    public var description: String { "zmq-socket-\(rawValue)" }

    /// Hands out the next unused id.
    static func next() -> ZMQSocketID {
        ZMQSocketID(rawValue: counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    private static let counter = Atomic<UInt64>(0)
}
