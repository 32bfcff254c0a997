import Foundation

/// A reactor: one dedicated OS thread (not the Swift cooperative pool) that owns any number of
/// ZeroMQ sockets.
///
/// The thread waits in `zmq_poll` (on each socket's `ZMQ_FD` notification descriptor, so an idle
/// socket costs almost nothing per round), receives everything a socket has ready and delivers
/// each multipart message to the socket's handler **on the reactor thread**, and executes opens,
/// sends and closes requested from any thread through a thread-safe command queue whose wake-up
/// descriptor (a pipe) is part of the poll set. Sockets are never touched from any other thread.
///
/// Handlers must be quick and must not block: while one runs, no socket of this reactor is
/// served. Hand work to other tasks (e.g. through an `AsyncStream` continuation). A handler that
/// captures its reactor strongly keeps it alive until the socket is closed or ``shutdown()`` is
/// called; capture it weakly or call ``shutdown()`` explicitly.
public final class ZMQReactor: Sendable {
    /// The name given at creation; the OS thread gets its first 15 bytes (the Linux limit).
    public let name: String
    private let mailbox: ReactorMailbox?
    private let latch = ReactorThreadLatch()

    /// Starts the reactor thread.
    /// - Parameters:
    ///   - name: a label for the thread and for diagnostics, e.g. `zmq-reactor-0`.
    ///   - context: the libzmq context the sockets belong to.
    ///
    /// If the process is out of file descriptors the reactor starts already shut down, so every
    /// ``open(_:endpoint:bind:options:onMessage:)`` throws.
    public init(name: String, context: ZMQContext = .shared) {
        self.name = name
        guard let mailbox = try? ReactorMailbox() else {
            self.mailbox = nil
            latch.markFinished()
            return
        }
        self.mailbox = mailbox
        let loop = ReactorLoop(mailbox: mailbox, context: context)
        let latch = self.latch
        let holder = LoopHolder(loop)
        let thread = Thread {
            nameCurrentThread(name)
            latch.markStarted()
            holder.loop?.run()
            // Foundation may keep this closure alive after the thread ends; free the loop now.
            holder.loop = nil
            latch.markFinished()
        }
        thread.start()
    }

    deinit {
        shutdown()
    }

    /// Opens a socket, connects (or binds if `bind: true`) to `endpoint` (e.g.
    /// `tcp://127.0.0.1:5555`), and registers `onMessage`, called on the reactor thread with all
    /// frames of each received multipart message.
    ///
    /// Returns once the socket exists. Throws ``ZMQError`` on failure (e.g. a malformed endpoint,
    /// an address in use, or a reactor that was shut down).
    ///
    /// - Parameter onDropped: For connecting sockets: called on the reactor thread when libzmq drops the
    ///   connection for good instead of re-establishing it, e.g. after the peer sent a message larger than
    ///   ``ZMQSocketOptions/maxMessageSize`` (a protocol error). The socket stays open but unconnected: close it
    ///   and open a new one.
    public func open(
        _ type: ZMQSocketType,
        endpoint: String,
        bind: Bool = false,
        options: ZMQSocketOptions = .init(),
        onDropped: (@Sendable () -> Void)? = nil,
        onMessage: @escaping @Sendable ([ZMQFrame]) -> Void
    ) async throws -> ZMQSocketID {
        guard let mailbox else { throw ZMQError.terminated("open(\(endpoint))") }
        let id = ZMQSocketID.next()
        try await withCheckedThrowingContinuation { (reply: CheckedContinuation<Void, any Error>) in
            let request = OpenRequest(
                id: id, type: type, endpoint: endpoint, bind: bind, options: options,
                onMessage: onMessage, onDropped: onDropped, reply: { reply.resume(with: $0) })
            if !mailbox.post(.open(request)) {
                reply.resume(throwing: ZMQError.terminated("open(\(endpoint))"))
            }
        }
        return id
    }

    /// Opens and connects a socket without waiting for the reactor thread: messages sent to the returned id
    /// right away are queued after the open, so none is lost. For sockets opened on demand on a hot path.
    /// - Parameters:
    ///   - onFailure: Called (on the reactor thread) if the socket could not be made.
    ///   - onDropped: As for ``open(_:endpoint:bind:options:onDropped:onMessage:)``.
    /// - Returns: The socket's id; nil if the reactor was shut down.
    public func openWithoutWaiting(
        _ type: ZMQSocketType,
        endpoint: String,
        options: ZMQSocketOptions = .init(),
        onFailure: @escaping @Sendable (any Error) -> Void = { _ in },
        onDropped: (@Sendable () -> Void)? = nil,
        onMessage: @escaping @Sendable ([ZMQFrame]) -> Void
    ) -> ZMQSocketID? {
        guard let mailbox else { return nil }
        let id = ZMQSocketID.next()
        let request = OpenRequest(
            id: id, type: type, endpoint: endpoint, bind: false, options: options, onMessage: onMessage,
            onDropped: onDropped, reply: { result in if case .failure(let error) = result { onFailure(error) } })
        return mailbox.post(.open(request)) ? id : nil
    }

    /// Queues a multipart message for sending; never blocks the caller. Messages to one socket
    /// keep their order. If the socket's high-water mark is reached (or it has no peer yet) the
    /// message waits in the reactor until the socket becomes writable; it is never dropped
    /// silently. Sends to closed sockets or after ``shutdown()`` are ignored.
    public func send(_ frames: [ZMQFrame], on socket: ZMQSocketID) {
        mailbox?.post(.send(socket, frames))
    }

    /// Closes a socket (linger 0); its pending queued sends are dropped. Idempotent.
    public func close(_ socket: ZMQSocketID) {
        mailbox?.post(.close(socket))
    }

    /// For bound sockets with port 0 / `tcp://127.0.0.1:*`: the actual endpoint
    /// (`ZMQ_LAST_ENDPOINT`), e.g. `tcp://127.0.0.1:40123`. Throws for closed or unknown sockets.
    public func lastEndpoint(_ socket: ZMQSocketID) async throws -> String {
        guard let mailbox else { throw ZMQError.terminated("lastEndpoint(\(socket))") }
        return try await withCheckedThrowingContinuation { (reply: CheckedContinuation<String, any Error>) in
            if !mailbox.post(.lastEndpoint(socket, reply)) {
                reply.resume(throwing: ZMQError.terminated("lastEndpoint(\(socket))"))
            }
        }
    }

    /// Whether a socket opened with ``ZMQSocketOptions/immediate`` has a peer whose handshake completed
    /// (for other sockets: whether a send would not block). False for closed or unknown sockets.
    public func hasConnectedPeer(_ socket: ZMQSocketID) async -> Bool {
        guard let mailbox else { return false }
        return await withCheckedContinuation { (reply: CheckedContinuation<Bool, Never>) in
            if !mailbox.post(.isWritable(socket, reply)) { reply.resume(returning: false) }
        }
    }

    /// Stops the thread and closes all its sockets. Idempotent; also done in `deinit`.
    ///
    /// Returns once the thread has closed its sockets, unless called from a handler on the
    /// reactor thread itself (then the thread stops right after the handler returns).
    public func shutdown() {
        guard let mailbox else { return }
        _ = mailbox.postShutdown()
        if !latch.isReactorThread {
            latch.waitUntilFinished()
        }
    }

    /// Whether the caller is running on this reactor's thread (i.e. inside one of its handlers).
    public var isCurrentThread: Bool {
        latch.isReactorThread
    }

    /// Whether ``shutdown()`` has been requested.
    public var isShutDown: Bool {
        mailbox?.isClosed ?? true
    }

    /// Number of sockets currently open (for tests and metrics).
    public var socketCount: Int {
        mailbox?.socketCount.load(ordering: .relaxed) ?? 0
    }

    /// Messages libzmq rejected for a reason other than a full queue (e.g. `EFSM` on a REQ
    /// socket sending twice) and that were therefore discarded (for metrics).
    public var failedSendCount: Int {
        mailbox?.failedSends.load(ordering: .relaxed) ?? 0
    }
}

/// Hands the loop to its thread and lets the thread drop it when done.
private final class LoopHolder: @unchecked Sendable {
    // @unchecked: written once before the thread starts, then only by that thread.
    var loop: ReactorLoop?

    init(_ loop: ReactorLoop) {
        self.loop = loop
    }
}
