/// Work handed from any thread to a reactor thread.
enum ReactorCommand: Sendable {
    /// Create, configure and bind/connect a socket, then resume `reply`.
    case open(OpenRequest)
    /// Queue a multipart message on a socket.
    case send(ZMQSocketID, [ZMQFrame])
    /// Close a socket, dropping its queued messages.
    case close(ZMQSocketID)
    /// Read `ZMQ_LAST_ENDPOINT` of a socket.
    case lastEndpoint(ZMQSocketID, CheckedContinuation<String, any Error>)
    /// Whether a socket is writable (`ZMQ_POLLOUT`); false for closed sockets.
    case isWritable(ZMQSocketID, CheckedContinuation<Bool, Never>)
    /// Close every socket and stop the thread.
    case shutdown
}

/// Everything needed to open one socket.
struct OpenRequest: Sendable {
    let id: ZMQSocketID
    let type: ZMQSocketType
    let endpoint: String
    let bind: Bool
    let options: ZMQSocketOptions
    let onMessage: @Sendable ([ZMQFrame]) -> Void
    /// Called (on the reactor thread) when libzmq drops the socket's connection for good; see ``ConnectionWatch``.
    var onDropped: (@Sendable () -> Void)? = nil
    /// Told once whether the socket exists.
    let reply: @Sendable (Result<Void, any Error>) -> Void
}
