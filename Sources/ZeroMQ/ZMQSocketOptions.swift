/// Options applied when a socket is opened, before it binds or connects.
public struct ZMQSocketOptions: Sendable, Hashable {
    /// `ZMQ_ROUTING_ID`: the identity a ROUTER peer sees for this socket. `nil` lets libzmq pick one.
    /// Must be 1…255 bytes (otherwise `open` throws `EINVAL`) and should not start with a zero
    /// byte, which libzmq reserves for the ids it generates.
    public var identity: [UInt8]?
    /// `ZMQ_SUBSCRIBE` prefixes for `.sub` sockets; the default `[[]]` subscribes to everything.
    /// Ignored for other socket types.
    public var subscribe: [[UInt8]]
    /// `ZMQ_RCVHWM`; 0 means unlimited, so a fast kernel's output is never dropped on the gateway side.
    public var receiveHighWaterMark: Int32
    /// `ZMQ_SNDHWM`; 0 means unlimited. When the mark is reached the reactor keeps the message
    /// queued and retries when the socket becomes writable; it never drops it.
    public var sendHighWaterMark: Int32
    /// `ZMQ_LINGER` in milliseconds; 0 discards unsent messages on close so nothing can hang.
    public var linger: Int32
    /// `ZMQ_IPV6`: allow IPv6 endpoints (dual stack). Turned on automatically when the endpoint
    /// contains a bracketed IPv6 literal such as `tcp://[fd00::1]:5555`.
    public var ipv6: Bool = false
    /// `ZMQ_REQ_RELAXED` (REQ sockets only): allow a new request before the previous reply arrived.
    public var requestRelaxed: Bool = false
    /// `ZMQ_REQ_CORRELATE` (REQ sockets only): drop replies that do not answer the latest request.
    public var requestCorrelate: Bool = false
    /// `ZMQ_IMMEDIATE`: queue messages only to completed connections. Then the socket is writable exactly
    /// when a peer has finished its handshake, which ``ZMQReactor/hasConnectedPeer(_:)`` reports.
    public var immediate: Bool = false
    /// `ZMQ_RECONNECT_IVL` in milliseconds: how long a connecting socket waits before it tries again after a
    /// refused or lost connection (libzmq adds a random part of up to the same length). `nil` keeps libzmq's
    /// 100 ms, which a kernel that binds its ports while the gateway is already connecting pays on every start.
    public var reconnectInterval: Int32? = nil
    /// `ZMQ_MAXMSGSIZE` in bytes: a peer sending a larger message part is disconnected (a protocol error) before
    /// the part is allocated. `nil` = no limit. Watch for the drop with `onDropped` of ``ZMQReactor/open(_:endpoint:bind:options:onDropped:onMessage:)``.
    public var maxMessageSize: Int64? = nil

    /// Creates socket options; every parameter has the gateway's default.
    public init(
        identity: [UInt8]? = nil,
        subscribe: [[UInt8]] = [[]],
        receiveHighWaterMark: Int32 = 0,
        sendHighWaterMark: Int32 = 0,
        linger: Int32 = 0
    ) {
        self.identity = identity
        self.subscribe = subscribe
        self.receiveHighWaterMark = receiveHighWaterMark
        self.sendHighWaterMark = sendHighWaterMark
        self.linger = linger
    }
}
