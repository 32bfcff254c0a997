import DequeModule
import Foundation
import JupyterProtocol
import Logging
import Synchronization
import ZeroMQ

/// The ZeroMQ side of one kernel: its shell, control and stdin DEALER sockets (one shared identity, so
/// `input_request`s come back to us), its iopub SUB socket and its heartbeat REQ socket, all owned by a
/// reactor thread. It relays between those sockets and the kernel's WebSocket clients:
/// iopub goes to every client, a reply goes to the client (session) whose request it answers, and while
/// no client is attached, messages are buffered (bounded) for the last session and replayed when it returns.
public final class KernelConnection: Sendable {
    /// The kernel this connection belongs to.
    public let kernelID: String
    private let currentInfo: Mutex<ConnectionInfo>
    /// Where the kernel's sockets are (changes when a pod kernel is relaunched elsewhere).
    public var info: ConnectionInfo { currentInfo.withLock { $0 } }
    let signer: MessageSigner
    let reactor: ZMQReactor
    let logger: Logger
    let configuration: KernelManagerConfiguration
    /// Called on the reactor thread for every valid message from the kernel (activity tracking), with
    /// the `msg_type` of its parent.
    let onKernelMessage: @Sendable (KernelChannel, MessagePeek, String?) -> Void
    /// Called for every message a client sends (activity tracking).
    let onClientMessage: @Sendable (MessagePeek) -> Void
    private let sockets: Mutex<Sockets?> = Mutex(nil)
    private let routing: Mutex<Routing> = Mutex(Routing())
    private let heartbeat: Mutex<Heartbeat> = Mutex(Heartbeat())

    struct Sockets {
        var shell: ZMQSocketID
        var control: ZMQSocketID
        var stdin: ZMQSocketID
        var iopub: ZMQSocketID
        var hb: ZMQSocketID
    }

    struct Routing {
        var clients: [String: ClientConnection] = [:]
        /// Request msg_id → session id of the client that sent it (bounded, oldest forgotten first).
        var requesters: [String: String] = [:]
        var requesterOrder: Deque<String> = []
        /// Request msg_id → the gateway's own waiting request.
        var internalWaiters: [String: ReplySlot] = [:]
        var offline: OfflineBuffer?
        var closed = false
    }

    struct Heartbeat {
        var waiter: CheckedContinuation<Bool, Never>?
        var stuck = false
    }

    static let maxRememberedRequests = 4096

    /// Creates the connection (no sockets yet: see `connect()`).
    public init(kernelID: String, info: ConnectionInfo, reactor: ZMQReactor, configuration: KernelManagerConfiguration,
                logger: Logger,
                onClientMessage: @escaping @Sendable (MessagePeek) -> Void = { _ in },
                onKernelMessage: @escaping @Sendable (KernelChannel, MessagePeek, String?) -> Void) throws(GatewayError) {
        self.kernelID = kernelID
        self.currentInfo = Mutex(info)
        self.reactor = reactor
        self.configuration = configuration
        self.logger = logger
        self.onKernelMessage = onKernelMessage
        self.onClientMessage = onClientMessage
        do {
            self.signer = try MessageSigner(key: Array(info.key.utf8), scheme: info.signatureScheme)
        } catch {
            throw .launchFailed("Unsupported signature scheme '\(info.signatureScheme)' in the kernel's connection info")
        }
    }

    /// Points the sockets at a new address (same key and ports), keeping every attached client.
    public func reconnect(to newInfo: ConnectionInfo) async throws(GatewayError) {
        let old = sockets.withLock { value -> Sockets? in
            let old = value
            value = nil
            return old
        }
        if let old {
            for id in [old.shell, old.control, old.stdin, old.iopub, old.hb] { reactor.close(id) }
        }
        currentInfo.withLock { $0 = newInfo }
        try await connect()
    }

    /// Opens the five sockets.
    public func connect() async throws(GatewayError) {
        let info = self.info
        let identity = Array("ej-\(UUID().uuidString.lowercased())".utf8)
        let dealerOptions = ZMQSocketOptions(identity: identity)
        do {
            let shell = try await reactor.open(.dealer, endpoint: endpoint(info.shellPort), options: dealerOptions) { [self] frames in
                self.handleKernelFrames(frames, channel: .shell)
            }
            let control = try await reactor.open(.dealer, endpoint: endpoint(info.controlPort), options: dealerOptions) { [self] frames in
                self.handleKernelFrames(frames, channel: .control)
            }
            let stdin = try await reactor.open(.dealer, endpoint: endpoint(info.stdinPort), options: dealerOptions) { [self] frames in
                self.handleKernelFrames(frames, channel: .stdin)
            }
            let iopub = try await reactor.open(.sub, endpoint: endpoint(info.iopubPort)) { [self] frames in
                self.handleKernelFrames(frames, channel: .iopub)
            }
            let hb = try await reactor.open(.req, endpoint: endpoint(info.hbPort)) { [self] _ in
                self.handleHeartbeatReply()
            }
            sockets.withLock { $0 = Sockets(shell: shell, control: control, stdin: stdin, iopub: iopub, hb: hb) }
        } catch {
            disconnect()
            throw .launchFailed("Cannot connect to the kernel's sockets: \(error)")
        }
    }

    func endpoint(_ port: Int) -> String {
        let info = self.info
        let host = info.ip == "0.0.0.0" ? "127.0.0.1" : info.ip
        return "\(info.transport)://\(host):\(port)"
    }

    /// Closes every socket. Waiting internal requests fail.
    public func disconnect() {
        let current = sockets.withLock { value -> Sockets? in
            let current = value
            value = nil
            return current
        }
        if let current {
            for id in [current.shell, current.control, current.stdin, current.iopub, current.hb] { reactor.close(id) }
        }
        let waiters = routing.withLock { routing -> [ReplySlot] in
            routing.closed = true
            let waiters = Array(routing.internalWaiters.values)
            routing.internalWaiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.finish(.failure(GatewayError.kernelUnavailable(id: kernelID, state: "disconnected"))) }
        let hbWaiter = heartbeat.withLock { state -> CheckedContinuation<Bool, Never>? in
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        hbWaiter?.resume(returning: false)
    }

    // MARK: Clients

    /// Attaches a WebSocket client. A client already attached with the same session id is closed at once
    /// (a reconnect replaces the stale connection). Buffered messages of the same session are replayed;
    /// those of another session are discarded.
    /// - Returns: the number of attached clients.
    @discardableResult
    public func attach(_ client: ClientConnection) -> Int {
        let (replaced, replay, discarded, count) = routing.withLock { routing in
            let replaced = routing.clients.updateValue(client, forKey: client.sessionID)
            var replay: [ChannelMessage] = []
            var discarded = 0
            if let offline = routing.offline {
                if offline.sessionID == client.sessionID {
                    replay = offline.messages.map(\.message)
                } else {
                    discarded = offline.messages.count
                }
                routing.offline = nil
            }
            return (replaced, replay, discarded, routing.clients.count)
        }
        replaced?.close(reason: "Replaced by a new connection with the same session id")
        if discarded > 0 {
            logger.info("discarding buffered messages of another session", metadata: ["kernel_id": "\(kernelID)", "count": "\(discarded)"])
        }
        for message in replay { client.enqueue(message) }
        return count
    }

    /// Detaches a client. When the last one goes, buffering for its session starts.
    /// - Returns: the number of attached clients.
    @discardableResult
    public func detach(_ client: ClientConnection) -> Int {
        routing.withLock { routing in
            if routing.clients[client.sessionID] === client {
                routing.clients.removeValue(forKey: client.sessionID)
                if routing.clients.isEmpty, !routing.closed {
                    routing.offline = OfflineBuffer(
                        sessionID: client.sessionID,
                        maxMessages: configuration.offlineBufferMessages,
                        maxBytes: configuration.offlineBufferBytes)
                }
            }
            return routing.clients.count
        }
    }

    /// Number of attached clients.
    public var clientCount: Int { routing.withLock { $0.clients.count } }

    /// Closes every attached client with a reason and stops buffering.
    public func closeAllClients(reason: String) {
        let clients = routing.withLock { routing -> [ClientConnection] in
            let clients = Array(routing.clients.values)
            routing.clients.removeAll()
            routing.offline = nil
            return clients
        }
        for client in clients { client.close(reason: reason) }
    }

    /// Sends a gateway-generated iopub message (e.g. status `restarting` / `dead`) to every client.
    public func broadcast(_ message: ChannelMessage) {
        deliverToAll(message, isStatus: true)
    }

    // MARK: Client → kernel

    /// Relays a client's message to the kernel, remembering who asked so the reply goes back to it.
    public func send(_ message: ChannelMessage, from client: ClientConnection) {
        guard message.channel != .iopub else { return }
        let peek = MessagePeek.peek(message.parts)
        if let msgID = peek.msgID {
            remember(msgID: msgID, session: client.sessionID)
        }
        onClientMessage(peek)
        sendToKernel(message.parts, channel: message.channel)
    }

    func remember(msgID: String, session: String) {
        routing.withLock { routing in
            if routing.requesters.updateValue(session, forKey: msgID) == nil {
                routing.requesterOrder.append(msgID)
                if routing.requesterOrder.count > Self.maxRememberedRequests, let oldest = routing.requesterOrder.popFirst() {
                    routing.requesters.removeValue(forKey: oldest)
                }
            }
        }
    }

    func sendToKernel(_ parts: MessageParts, channel: KernelChannel) {
        guard let socket = sockets.withLock({ sockets -> ZMQSocketID? in
            guard let sockets else { return nil }
            switch channel {
            case .shell: return sockets.shell
            case .control: return sockets.control
            case .stdin: return sockets.stdin
            case .iopub: return nil
            }
        }) else { return }
        reactor.send(WireCodec.encode(parts, signer: signer), on: socket)
    }

    /// Sends the gateway's own request and waits for the reply (kernel_info, shutdown, interrupt...).
    public func request(_ parts: MessageParts, channel: KernelChannel, timeout: Duration) async throws -> MessageParts {
        guard let msgID = MessagePeek.peek(parts).msgID else { throw GatewayError.internalError("request without msg_id") }
        let slot = ReplySlot()
        let registered = routing.withLock { routing -> Bool in
            guard !routing.closed else { return false }
            routing.internalWaiters[msgID] = slot
            return true
        }
        guard registered else { throw GatewayError.kernelUnavailable(id: kernelID, state: "disconnected") }
        defer { _ = routing.withLock { $0.internalWaiters.removeValue(forKey: msgID) } }
        sendToKernel(parts, channel: channel)
        return try await withThrowingTaskGroup(of: MessageParts.self) { group in
            group.addTask { try await slot.wait() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw GatewayError.timeout("No reply from the kernel within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let reply = try await group.next() else { throw CancellationError() }
            return reply
        }
    }

    // MARK: Kernel → clients

    func handleKernelFrames(_ frames: [ZMQFrame], channel: KernelChannel) {
        let parts: MessageParts
        do {
            parts = try WireCodec.decode(frames, signer: signer).parts
        } catch {
            logger.warning("dropping a message from the kernel", metadata: [
                "kernel_id": "\(kernelID)", "channel": "\(channel.rawValue)", "error": "\(error)",
            ])
            return
        }
        let peek = MessagePeek.peek(parts)
        onKernelMessage(channel, peek, MessagePeek.topLevelString("msg_type", in: parts.parentHeader))
        let message = ChannelMessage(channel: channel, parts: parts)
        if channel == .iopub {
            deliverToAll(message, isStatus: peek.msgType == "status")
            return
        }
        enum Target { case waiter(ReplySlot), client(ClientConnection), none }
        let target: Target = routing.withLock { routing in
            if let parent = peek.parentMsgID {
                if let waiter = routing.internalWaiters.removeValue(forKey: parent) { return .waiter(waiter) }
                let session = routing.requesters[parent] ?? peek.parentSession
                if let session {
                    if let client = routing.clients[session] { return .client(client) }
                    if routing.offline?.sessionID == session {
                        routing.offline?.append(message, isStatus: false)
                    }
                }
            }
            return .none
        }
        switch target {
        case .waiter(let waiter): waiter.finish(.success(parts))
        case .client(let client): client.enqueue(message)
        case .none: break
        }
    }

    func deliverToAll(_ message: ChannelMessage, isStatus: Bool) {
        let clients: [ClientConnection] = routing.withLock { routing in
            if routing.clients.isEmpty {
                routing.offline?.append(message, isStatus: isStatus)
                return []
            }
            return Array(routing.clients.values)
        }
        for client in clients { client.enqueue(message) }
    }

    // MARK: Heartbeat

    /// Sends one heartbeat ping and reports whether the kernel echoed it within `timeout`.
    /// A REQ socket that got no answer is replaced so the next probe can go out.
    public func probeHeartbeat(timeout: Duration) async -> Bool {
        guard let socket = sockets.withLock({ $0?.hb }) else { return false }
        let alive = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let previous = self.heartbeat.withLock { state -> CheckedContinuation<Bool, Never>? in
                        let previous = state.waiter
                        state.waiter = continuation
                        return previous
                    }
                    previous?.resume(returning: false)
                    self.reactor.send([Array("ping".utf8)], on: socket)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                let waiter = self.heartbeat.withLock { state -> CheckedContinuation<Bool, Never>? in
                    let waiter = state.waiter
                    state.waiter = nil
                    return waiter
                }
                waiter?.resume(returning: false)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !alive { await replaceHeartbeatSocket() }
        return alive
    }

    func handleHeartbeatReply() {
        let waiter = heartbeat.withLock { state -> CheckedContinuation<Bool, Never>? in
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    func replaceHeartbeatSocket() async {
        guard let old = sockets.withLock({ $0?.hb }) else { return }
        reactor.close(old)
        guard let fresh = try? await reactor.open(.req, endpoint: endpoint(self.info.hbPort), onMessage: { [self] _ in
            self.handleHeartbeatReply()
        }) else { return }
        let keep = sockets.withLock { sockets -> Bool in
            guard sockets != nil else { return false }
            sockets?.hb = fresh
            return true
        }
        if !keep { reactor.close(fresh) }
    }
}
