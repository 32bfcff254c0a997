import CZeroMQ

/// Socket kinds used by a Jupyter gateway.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Asynchronous request/reply client (Jupyter shell, control and stdin channels).
    case dealer
    /// Asynchronous request/reply server that prefixes every message with the peer's routing id.
    case router
    /// Subscriber (Jupyter iopub channel on the gateway side).
    case sub
    /// Publisher.
    case pub
    /// Strict request/reply client (Jupyter heartbeat channel).
    case req
    /// Strict request/reply server.
    case rep
    /// Exclusive pair.
    case pair

    /// The libzmq constant for this kind (`ZMQ_DEALER`, …).
    var rawZMQType: Int32 {
        switch self {
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .sub: return ZMQ_SUB
        case .pub: return ZMQ_PUB
        case .req: return ZMQ_REQ
        case .rep: return ZMQ_REP
        case .pair: return ZMQ_PAIR
        }
    }

    /// The conventional upper-case name, e.g. `DEALER`.
    public var description: String {
        switch self {
        case .dealer: return "DEALER"
        case .router: return "ROUTER"
        case .sub: return "SUB"
        case .pub: return "PUB"
        case .req: return "REQ"
        case .rep: return "REP"
        case .pair: return "PAIR"
        }
    }
}
