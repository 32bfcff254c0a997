import DequeModule
import Foundation
import JupyterProtocol
import KubernetesRuntime
import Logging
import Synchronization
import ZeroMQ

/// The ZeroMQ side of one kernel: its shell, control and stdin DEALER sockets (one shared identity, so
/// `input_request`s come back to us) and its iopub SUB socket, all owned by a reactor thread. Control is
/// opened on first use and heartbeat REQ sockets only for a probe: each connected socket costs libzmq tens of
/// KiB of pipes and buffers, and most kernels never see a control message until they are shut down. It relays between those sockets and the kernel's WebSocket clients:
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
    /// Where another replica left a session: the `msg_id` of the last iopub message it handed to that session's
    /// client before it stopped (see ``attach(_:)``).
    let sessionCursor: @Sendable (String) -> IopubCursor?
    /// Whether recent iopub is kept for replay (kernels that outlive the gateway: pods).
    let keepsRecentIopub: Bool
    /// Where client queues, offline buffers and held messages of this kernel are charged.
    let memory: MemoryAccount
    let sockets: Mutex<Sockets?> = Mutex(nil)
    let routing: Mutex<Routing> = Mutex(Routing())

    struct Sockets {
        var shell: ZMQSocketID
        /// Opened on first use (see `controlSocket`).
        var control: ZMQSocketID?
        var stdin: ZMQSocketID
        var iopub: ZMQSocketID
        /// The identity of shell and stdin, which control shares.
        var identity: [UInt8]

        var all: [ZMQSocketID] { [shell, stdin, iopub] + (control.map { [$0] } ?? []) }
    }

    struct Routing {
        /// Attached clients by session id, oldest first: replies go to the newest of a session.
        var clients: [String: [ClientConnection]] = [:]
        var clientTotal = 0
        /// Whether an iopub message arrived since the sockets were (re)connected: the SUB socket's
        /// subscription is live only then (ZeroMQ's slow joiner).
        var iopubSeen = false
        /// Opened when `iopubSeen` becomes true; replaced when it is reset.
        var iopubLive = Gate()
        /// Client requests (shell and control) sent to the kernel and not answered yet, by msg_id (bounded).
        var awaitingReply: Set<String> = []
        /// Opened when `awaitingReply` empties (see ``waitForPendingReplies(timeout:)``).
        var repliesDrained: Gate?
        /// When set, only an iopub message caused by one of these gateway requests proves iopub live (after an
        /// in-place restart, the old process's last messages prove nothing about the new one).
        var iopubProbes: Set<String>? = nil
        /// While the kernel restarts: what clients send, held back until the new process is ready (a request
        /// it answered before its iopub subscription was live would lose its output).
        var held: Deque<ChannelMessage>? = nil
        var heldBytes = 0
        /// The header of the last `execute_request` a client sent: the parent of the gateway's own notices (so
        /// that they appear in that cell).
        var lastExecuteHeader: [UInt8]? = nil
        /// Request msg_id → session id of the client that sent it (bounded, oldest forgotten first).
        var requesters: [String: String] = [:]
        var requesterOrder: Deque<String> = []
        /// Request msg_id → the gateway's own waiting request.
        var internalWaiters: [String: ReplySlot] = [:]
        /// Buffers of sessions whose clients all went away, replayed when the session comes back.
        var offline: [String: OfflineBuffer] = [:]
        var offlineOrder: Deque<String> = []
        var closed = false
        /// The kernel's recent iopub messages, for a session that reconnects here from another replica.
        var recent = RecentIopub()
    }

    /// Sessions buffered at once per kernel; the oldest buffer is dropped beyond this.
    static let maxBufferedSessions = 4

    static let maxRememberedRequests = 4096

    /// Creates the connection (no sockets yet: see `connect()`).
    /// - Parameter memory: Where this kernel's queues and buffers are charged; nil = unlimited.
    public init(kernelID: String, info: ConnectionInfo, reactor: ZMQReactor, configuration: KernelManagerConfiguration,
                logger: Logger, memory: MemoryAccount? = nil,
                onClientMessage: @escaping @Sendable (MessagePeek) -> Void = { _ in },
                keepsRecentIopub: Bool = false, sessionCursor: @escaping @Sendable (String) -> IopubCursor? = { _ in nil },
                onKernelMessage: @escaping @Sendable (KernelChannel, MessagePeek, String?) -> Void) throws(GatewayError) {
        self.sessionCursor = sessionCursor
        self.keepsRecentIopub = keepsRecentIopub
        self.kernelID = kernelID
        self.memory = memory ?? .unlimited(kernelID: kernelID)
        self.currentInfo = Mutex(info)
        self.reactor = reactor
        self.configuration = configuration
        self.logger = logger
        self.onKernelMessage = onKernelMessage
        self.onClientMessage = onClientMessage
        do {
            self.signer = try MessageSigner(key: Array(info.key.utf8), scheme: info.signatureScheme)
        } catch {
            throw .launchFailed(.unreachable("unsupported signature scheme '\(info.signatureScheme)' in the kernel's connection info"))
        }
    }

    deinit {
        routing.withLock { routing in
            for buffer in routing.offline.values { buffer.releaseCharges() }
            memory.release(routing.heldBytes)
            routing.recent.removeAll(releasing: memory)
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
            for id in old.all { reactor.close(id) }
        }
        currentInfo.withLock { $0 = newInfo }
        resetIopubSeen(untilProbed: true)  // a relaunch: see KernelManager.restartAutomatically
        try await connect()
    }

    /// How soon (ms) a socket retries a refused connection. The gateway connects as soon as the process is
    /// spawned, before the kernel has bound its ports; with libzmq's default (100–200 ms between attempts) every
    /// start waited ≈ 75 ms on average after the kernel was up.
    static let reconnectInterval: Int32 = 10

    /// Kernel output waiting inside libzmq for the relay, in messages. Unlimited, a kernel faster than the relay
    /// piled its output up in the gateway (tens of MB for a 300 MB flood); at the mark libzmq stops reading and the
    /// kernel's own queue takes the backlog (ipykernel's iopub socket keeps 1000 messages, then drops).
    static let iopubReceiveHighWaterMark: Int32 = 2

    /// Options for every socket towards the kernel; `maxMessageSize` (bytes, 0 = none) is libzmq's backstop
    /// (see ``socketDropped(_:)``).
    static func kernelSocketOptions(identity: [UInt8]? = nil, maxMessageSize: Int = 0) -> ZMQSocketOptions {
        var options = ZMQSocketOptions(identity: identity)
        options.reconnectInterval = reconnectInterval
        if maxMessageSize > 0 { options.maxMessageSize = Int64(maxMessageSize) }
        return options
    }

    /// The options of one of this kernel's sockets.
    func socketOptions(for channel: KernelChannel, identity: [UInt8]) -> ZMQSocketOptions {
        let limit = configuration.maxKernelMessageBytes
        switch channel {
        case .iopub:
            var options = Self.kernelSocketOptions(maxMessageSize: limit)
            options.receiveHighWaterMark = Self.iopubReceiveHighWaterMark
            return options
        case .stdin:
            // The kernel's ROUTER drops an input_request while our stdin connection is not up: readiness
            // waits for it (see stdinConnected()), which ZMQ_IMMEDIATE makes observable.
            var options = Self.kernelSocketOptions(identity: identity, maxMessageSize: limit)
            options.immediate = true
            return options
        case .shell, .control: return Self.kernelSocketOptions(identity: identity, maxMessageSize: limit)
        }
    }

    func port(of channel: KernelChannel) -> Int {
        switch channel {
        case .shell: return info.shellPort
        case .control: return info.controlPort
        case .stdin: return info.stdinPort
        case .iopub: return info.iopubPort
        }
    }

    /// Opens shell, stdin and iopub (control and heartbeat are opened when needed).
    public func connect() async throws(GatewayError) {
        let info = self.info
        let identity = Array("ej-\(UUID().uuidString.lowercased())".utf8)
        do {
            let shell = try await reactor.open(
                .dealer, endpoint: endpoint(info.shellPort), options: socketOptions(for: .shell, identity: identity),
                onDropped: { [self] in self.socketDropped(.shell) }
            ) { [self] frames in
                self.handleKernelFrames(frames, channel: .shell)
            }
            let stdin = try await reactor.open(
                .dealer, endpoint: endpoint(info.stdinPort), options: socketOptions(for: .stdin, identity: identity),
                onDropped: { [self] in self.socketDropped(.stdin) }
            ) { [self] frames in
                self.handleKernelFrames(frames, channel: .stdin)
            }
            let iopub = try await reactor.open(
                .sub, endpoint: endpoint(info.iopubPort), options: socketOptions(for: .iopub, identity: identity),
                onDropped: { [self] in self.socketDropped(.iopub) }
            ) { [self] frames in
                self.handleKernelFrames(frames, channel: .iopub)
            }
            sockets.withLock { $0 = Sockets(shell: shell, control: nil, stdin: stdin, iopub: iopub, identity: identity) }
        } catch {
            disconnect()
            throw .launchFailed(.unreachable("\(error)"))
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
            for id in current.all { reactor.close(id) }
        }
        let waiters = routing.withLock { routing -> [ReplySlot] in
            routing.closed = true
            let waiters = Array(routing.internalWaiters.values)
            routing.internalWaiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.finish(.failure(GatewayError.kernelUnavailable(id: kernelID, state: "disconnected"))) }
    }

    // MARK: Clients

    /// Whether a client is attached.
    public var hasClients: Bool { routing.withLock { $0.clientTotal > 0 } }

    /// Attaches a WebSocket client. A new connection with the session id of an attached one takes over
    /// at once: replies for that session go to the newest connection (the older one, typically abandoned
    /// by its client, keeps receiving iopub until it closes — closing it here would make jupyter_server's
    /// proxy re-dial it and the two would evict each other). Messages buffered for the session are replayed.
    /// - Returns: the number of attached clients.
    @discardableResult
    public func attach(_ client: ClientConnection) -> Int {
        // A session first seen here may come from a replica that stopped: replay what it had not handed out.
        let cursor = !keepsRecentIopub || routing.withLock({ $0.recent.hasSeen(client.sessionID) }) ? nil : sessionCursor(client.sessionID)
        let (replay, count) = routing.withLock { routing in
            routing.clients[client.sessionID, default: []].append(client)
            routing.clientTotal += 1
            var replay: [ChannelMessage] = []
            if var buffer = routing.offline.removeValue(forKey: client.sessionID) {
                replay = buffer.takeAll()
                routing.offlineOrder.removeAll { $0 == client.sessionID }
            } else if let cursor, !routing.recent.hasSeen(client.sessionID) {
                replay = routing.recent.after(cursor)
            }
            routing.recent.noteSeen(client.sessionID)
            return (replay, routing.clientTotal)
        }
        client.charge(to: memory)
        for message in replay { client.enqueue(message) }
        if let cursor {
            logger.info("session reconnected from another replica", metadata: [
                "kernel_id": "\(kernelID)", "session": "\(client.sessionID)", "cursor": "\(cursor.msgID)",
                "replayed": "\(replay.count)",
            ])
        }
        return count
    }

    /// Detaches a client. When the last connection of a session goes, buffering for that session starts.
    /// - Returns: the number of attached clients.
    @discardableResult
    public func detach(_ client: ClientConnection) -> Int {
        routing.withLock { routing in
            guard var list = routing.clients[client.sessionID], let index = list.firstIndex(where: { $0 === client }) else {
                return routing.clientTotal
            }
            list.remove(at: index)
            routing.clientTotal -= 1
            if list.isEmpty {
                routing.clients.removeValue(forKey: client.sessionID)
                if !routing.closed {
                    routing.offline[client.sessionID] = OfflineBuffer(
                        maxMessages: configuration.offlineBufferMessages,
                        maxBytes: configuration.offlineBufferBytes, account: memory)
                    routing.offlineOrder.append(client.sessionID)
                    if routing.offlineOrder.count > Self.maxBufferedSessions, let oldest = routing.offlineOrder.popFirst() {
                        routing.offline.removeValue(forKey: oldest)?.releaseCharges()
                    }
                }
            } else {
                routing.clients[client.sessionID] = list
            }
            return routing.clientTotal
        }
    }

    /// Number of attached clients.
    public var clientCount: Int { routing.withLock { $0.clientTotal } }

    /// Whether iopub is known to be live (an iopub message arrived since (re)connecting).
    public var iopubSeen: Bool { routing.withLock { $0.iopubSeen } }

    /// Whether the stdin socket's connection to the kernel has completed its handshake, so the kernel can route
    /// an `input_request` to it (ZeroMQ reconnects every 100 ms, independently per socket).
    public func stdinConnected() async -> Bool {
        guard let stdin = sockets.withLock({ $0?.stdin }) else { return false }
        return await reactor.hasConnectedPeer(stdin)
    }

    /// Forgets that iopub was live (before a kernel restart, whose new process binds iopub anew).
    /// - Parameter untilProbed: Count only iopub messages caused by requests registered with
    ///   ``noteReadinessProbe(_:)`` (the old process may still be publishing; see ``acceptAnyIopub()``).
    public func resetIopubSeen(untilProbed: Bool = false) {
        routing.withLock {
            $0.iopubSeen = false
            $0.iopubProbes = untilProbed ? [] : nil
            $0.iopubLive = Gate()
        }
    }

    /// Registers a gateway request whose iopub messages (its `status` busy/idle) prove iopub live.
    public func noteReadinessProbe(_ msgID: String) {
        routing.withLock { routing in
            if routing.iopubProbes != nil { routing.iopubProbes?.insert(msgID) }
        }
    }

    /// Lets any iopub message prove iopub live again (for kernels that publish nothing about probes).
    public func acceptAnyIopub() {
        routing.withLock { $0.iopubProbes = nil }
    }

    /// Closes every attached client with a reason and stops buffering.
    /// - Returns: For each session, the last kernel iopub message its newest client was handed (where a replay
    ///   resumes after ``ClientCloseReason/gatewayStopping``).
    @discardableResult
    public func closeAllClients(reason: ClientCloseReason) -> [String: IopubCursor] {
        let clients = routing.withLock { routing -> [ClientConnection] in
            let clients = routing.clients.values.flatMap { $0 }
            routing.clients.removeAll()
            routing.clientTotal = 0
            for buffer in routing.offline.values { buffer.releaseCharges() }
            routing.offline.removeAll()
            routing.offlineOrder.removeAll()
            return clients
        }
        for client in clients { client.close(reason: reason) }
        return routing.withLock { routing in
            var cursors: [String: IopubCursor] = [:]
            for client in clients {
                if let id = client.lastIopubID { cursors[client.sessionID] = IopubCursor(msgID: id, date: routing.recent.date(of: id)) }
            }
            return cursors
        }
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
        onClientMessage(peek)
        // One lock per message: remember who asked, and hold the message back while the kernel restarts.
        let held = routing.withLock { routing -> Bool in
            if let msgID = peek.msgID {
                Self.remember(msgID: msgID, session: client.sessionID, in: &routing)
                if message.channel != .stdin, peek.msgType?.hasSuffix("_request") == true,
                   routing.awaitingReply.count < Self.maxRememberedRequests {
                    routing.awaitingReply.insert(msgID)
                }
            }
            if peek.msgType == "execute_request" { routing.lastExecuteHeader = message.parts.header }
            guard routing.held != nil else { return false }
            // Bounded by count and by the kernel's memory share; beyond them the message is dropped.
            let size = message.parts.byteCount
            if routing.held!.count < Self.maxHeldMessages, memory.charge(size) {
                routing.held!.append(message)
                routing.heldBytes += size
            }
            return true
        }
        if !held { sendToKernel(message.parts, channel: message.channel) }
    }

    /// Messages held back per kernel while it restarts; more are dropped (a client that floods a restarting
    /// kernel).
    static let maxHeldMessages = 1000

    /// Holds back what clients send until ``releaseClientMessages()`` (while the kernel restarts).
    public func holdClientMessages() {
        routing.withLock { routing in
            if routing.held == nil { routing.held = [] }
        }
    }

    /// Sends what was held back, in order, and stops holding.
    public func releaseClientMessages() {
        routing.withLock { routing in
            guard let held = routing.held else { return }
            routing.held = nil
            memory.release(routing.heldBytes)
            routing.heldBytes = 0
            for message in held { sendToKernel(message.parts, channel: message.channel) }
        }
    }

    /// Records which session sent request `msgID`, so its replies go back there (bounded, oldest forgotten).
    private static func remember(msgID: String, session: String, in routing: inout Routing) {
        if routing.requesters.updateValue(session, forKey: msgID) == nil {
            routing.requesterOrder.append(msgID)
            if routing.requesterOrder.count > maxRememberedRequests, let oldest = routing.requesterOrder.popFirst() {
                routing.requesters.removeValue(forKey: oldest)
            }
        }
    }

    /// The control socket, opened now; messages sent to it right away wait for its connection.
    private func openControl(identity: [UInt8]) -> ZMQSocketID? {
        let (kernelID, logger) = (self.kernelID, self.logger)
        return reactor.openWithoutWaiting(
            .dealer, endpoint: endpoint(info.controlPort), options: socketOptions(for: .control, identity: identity),
            onFailure: { error in
                logger.warning("cannot open the control socket", metadata: ["kernel_id": "\(kernelID)", "error": "\(error)"])
            },
            onDropped: { [self] in self.socketDropped(.control) },
            onMessage: { [self] frames in self.handleKernelFrames(frames, channel: .control) })
    }

    func sendToKernel(_ parts: MessageParts, channel: KernelChannel) {
        guard let socket = sockets.withLock({ sockets -> ZMQSocketID? in
            guard var current = sockets else { return nil }
            switch channel {
            case .shell: return current.shell
            case .control:
                if current.control == nil {
                    current.control = openControl(identity: current.identity)
                    sockets = current
                }
                return current.control
            case .stdin: return current.stdin
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
            deliverToAll(message, isStatus: peek.msgType == "status", fromKernel: true, parentMsgID: peek.parentMsgID,
                         msgID: peek.msgID)
            return
        }
        enum Target { case waiter(ReplySlot), client(ClientConnection), none }
        var drained: Gate?
        defer { drained?.open() }
        let target: Target = routing.withLock { routing in
            if let parent = peek.parentMsgID {
                if channel != .stdin, routing.awaitingReply.remove(parent) != nil, routing.awaitingReply.isEmpty {
                    drained = routing.repliesDrained
                    routing.repliesDrained = nil
                }
                if let waiter = routing.internalWaiters.removeValue(forKey: parent) { return .waiter(waiter) }
                let session = routing.requesters[parent] ?? peek.parentSession
                if let session {
                    if let client = routing.clients[session]?.last { return .client(client) }
                    routing.offline[session]?.append(message, isStatus: false)
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

    func deliverToAll(_ message: ChannelMessage, isStatus: Bool, fromKernel: Bool = false, parentMsgID: String? = nil,
                      msgID: String? = nil) {
        var becameLive: Gate?
        defer { becameLive?.open() }
        let clients: [ClientConnection] = routing.withLock { routing in
            if fromKernel, !routing.iopubSeen {
                if let probes = routing.iopubProbes {
                    if let parentMsgID, probes.contains(parentMsgID) {
                        routing.iopubSeen = true
                        routing.iopubProbes = nil
                    }
                } else {
                    routing.iopubSeen = true
                }
                if routing.iopubSeen { becameLive = routing.iopubLive }
            }
            for session in routing.offlineOrder {
                routing.offline[session]?.append(message, isStatus: isStatus)
            }
            if keepsRecentIopub, let msgID { routing.recent.append(message, msgID: msgID, account: memory) }
            return routing.clients.values.flatMap { $0 }
        }
        for client in clients { client.enqueue(message, iopubID: msgID) }
    }

    // MARK: Heartbeat

    /// Sends one heartbeat ping, on a REQ socket opened for this probe, and reports whether the kernel echoed
    /// it within `timeout`.
    public func probeHeartbeat(timeout: Duration) async -> Bool {
        guard sockets.withLock({ $0 != nil }) else { return false }
        let echo = ReplySlot()
        guard let socket = reactor.openWithoutWaiting(.req, endpoint: endpoint(info.hbPort), onMessage: { frames in
            echo.finish(.success(MessageParts(header: frames.first ?? [], parentHeader: [], metadata: [], content: [])))
        }) else {
            return false
        }
        defer { reactor.close(socket) }
        reactor.send([Array("ping".utf8)], on: socket)
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await echo.wait()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
