import Foundation
import Hummingbird
import HummingbirdWebSocket
import JupyterProtocol
import KernelGateway
import Logging

/// The WebSocket endpoint `/api/kernels/{id}/channels`: negotiates the encoding, attaches a
/// `ClientConnection` to the kernel's relay and pumps messages both ways until either side closes.
///
/// The upgrade is checked before it happens, so a refused one gets its real status (404 for a kernel the caller
/// may not see, 409 for a kernel with no relay, 400 for a bad `session_id`): ``UpgradeErrorMiddleware`` writes
/// it. After the upgrade the handler owns two tasks, kernel → client and client → kernel; the first to end
/// closes the ``ClientConnection``, which ends the other.
struct ChannelsHandler {
    /// Finds the kernel (for the caller's identity) and its relay.
    let manager: KernelManager
    /// The base path and `maxMessageSize` (the largest WebSocket message read from a client).
    let settings: HTTPServerConfiguration
    /// Clients attached, messages and bytes relayed, slow clients closed.
    let metrics: GatewayMetrics

    /// Adds the WebSocket route to `router` (not a group: the WebSocket router needs the full path).
    func register(on router: Router<GatewayRequestContext>) {
        router.ws(RouterPath(settings.basePath + "api/kernels/{id}/channels")) { request, context in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError(.badRequest, "Can \"Upgrade\" only to \"WebSocket\"")
            }
            let id = try context.parameters.require("id")
            let kernel = try await manager.kernel(id, visibleTo: context.identity)
            guard kernel.connection != nil else {
                throw APIError(.conflict, "Kernel \(id) is not connected (\(kernel.model().executionState))")
            }
            if let session = request.uri.queryParameters.get("session_id"), !Self.isValidSession(session) {
                throw APIError(.badRequest, "Invalid session_id")
            }
            let chosen = WebSocketProtocol.negotiate(offered: Self.offeredProtocols(request))
            // Never echo a subprotocol the client did not offer.
            return chosen == .v1 ? .upgrade([.secWebSocketProtocol: WebSocketProtocol.v1Name]) : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await serve(inbound: inbound, outbound: outbound, context: context)
        }
    }

    /// The subprotocols the client offers in `Sec-WebSocket-Protocol` (one header or several, comma-separated).
    static func offeredProtocols(_ request: Request) -> [String] {
        request.headers[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Whether a `session_id` can key the relay's per-session state (offline buffers, reply routing): 1 to 256
    /// printable ASCII characters.
    static func isValidSession(_ session: String) -> Bool {
        !session.isEmpty && session.utf8.count <= 256 && session.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }
    }

    /// Serves one upgraded connection: attaches a ``ClientConnection`` for the session (a new random one when the
    /// client names none), relays until either side ends, closes with the code of the reason (``close(_:for:)``)
    /// and detaches. Malformed client messages are dropped, not fatal; a message over `maxMessageSize` closes
    /// with 1009.
    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
               context: WebSocketRouterContext<GatewayRequestContext>) async throws {
        let logger = context.logger
        guard let id = context.requestContext.parameters.get("id"),
              let kernel = try? await manager.kernel(id, visibleTo: context.requestContext.identity),
              let connection = kernel.connection
        else {
            try? await outbound.close(.unexpectedServerError, reason: "Kernel not available")
            return
        }
        let wsProtocol = WebSocketProtocol.negotiate(offered: Self.offeredProtocols(context.request))
        let session = context.request.uri.queryParameters.get("session_id").map { String($0) } ?? UUID().uuidString.lowercased()
        let client = ClientConnection(
            sessionID: session, wsProtocol: wsProtocol,
            queueMessages: manager.configuration.clientQueueMessages, queueBytes: manager.configuration.clientQueueBytes)
        connection.attach(client)
        metrics.clientAttached()
        logger.debug("client attached", metadata: ["kernel_id": "\(id)", "session": "\(session)", "protocol": "\(wsProtocol)"])
        defer {
            connection.detach(client)
            metrics.clientDetached(reason: client.closeReason)
        }
        let metrics = self.metrics

        // A client closed by the relay (too slow, budget) whose socket stops reading would keep the writer below
        // waiting for ever, holding its connection and a message: after a grace period its channel is closed.
        let channel = context.requestContext.channel
        await withTaskGroup(of: Void.self) { watchdog in
            watchdog.addTask {
                await client.waitUntilClosed()
                guard (try? await Task.sleep(for: Self.closeGrace)) != nil else { return }
                try? await channel.close()
            }
            let allocator = ByteBufferAllocator()
            enum Direction: Sendable { case toClient, fromClient }
            await withTaskGroup(of: Direction.self) { group in
                group.addTask {
                    // Kernel → client.
                    while let message = await client.next() {
                        do {
                            // Binary frames (v1, legacy with buffers) are encoded straight into the buffer NIO writes.
                            switch WebSocketCodec.encode(message, protocol: wsProtocol, allocator: allocator) {
                            case .text(let text):
                                try await outbound.writeTextMessage(text)
                                metrics.relayed(.kernelToClient, bytes: text.utf8.count)
                            case .binary(let buffer):
                                let bytes = buffer.readableBytes
                                try await outbound.writeBinaryMessage(buffer)
                                metrics.relayed(.kernelToClient, bytes: bytes)
                            }
                        } catch {
                            client.close(reason: .writeFailed)
                            return .toClient
                        }
                    }
                    let reason = client.closeReason ?? .closed
                    await Self.close(outbound, for: reason)
                    return .toClient
                }
                group.addTask {
                    // Client → kernel. Malformed messages are logged once per connection, then counted: a client
                    // cannot flood the log.
                    var malformed = 0
                    defer {
                        if malformed > 1 {
                            logger.info("ignored malformed WebSocket messages", metadata: ["kernel_id": "\(id)", "count": "\(malformed)"])
                        }
                    }
                    do {
                        for try await message in inbound.messages(maxSize: settings.maxMessageSize) {
                            let frame: WebSocketFrame
                            let bytes: Int
                            switch message {
                            case .text(let text): frame = .text(text); bytes = text.utf8.count
                            case .binary(let buffer): frame = .binary(Array(buffer.readableBytesView)); bytes = buffer.readableBytes
                            }
                            do {
                                let decoded = try WebSocketCodec.decode(frame, protocol: wsProtocol,
                                                                        limits: WebSocketCodecLimits(maxParts: 1024, maxFrameSize: settings.maxMessageSize))
                                connection.send(decoded, from: client)
                                metrics.relayed(.clientToKernel, bytes: bytes)
                            } catch {
                                malformed += 1
                                if malformed == 1 {
                                    logger.info("ignoring a malformed WebSocket message (further ones are counted)",
                                                metadata: ["kernel_id": "\(id)", "error": "\(error)"])
                                }
                            }
                        }
                    } catch {
                        logger.info("WebSocket read ended", metadata: ["kernel_id": "\(id)", "error": "\(error)"])
                        if "\(error)".contains("messageTooLarge") {
                            client.close(reason: .messageTooLarge)
                            return .fromClient
                        }
                    }
                    client.close(reason: .clientDisconnected)
                    return .fromClient
                }
                let first = await group.next()
                client.close(reason: .closed)
                // When the client's side ended first, the kernel → client task is left to send the close frame: a
                // cancelled task would leave the handshake half done (the frame never sent, the client waiting).
                if first == .toClient { group.cancelAll() }
            }
            client.close(reason: .closed)
            watchdog.cancelAll()
        }
        logger.debug("client detached", metadata: ["kernel_id": "\(id)", "session": "\(session)"])
    }

    /// How long a closed client's pending write and close frame may take before its connection is closed.
    static let closeGrace: Duration = .seconds(5)

    /// The WebSocket close code of each reason: 1008 too slow, 1009 too large, 1001 the gateway is going away
    /// (the kernel lives on: clients reconnect), 1000 otherwise.
    static func close(_ outbound: WebSocketOutboundWriter, for reason: ClientCloseReason) async {
        let text = closeReason(reason.description)
        switch reason {
        case .tooSlow, .memoryBudgetExceeded: try? await outbound.close(.policyViolation, reason: text)
        case .messageTooLarge: try? await outbound.close(.messageTooLarge, reason: text)
        case .gatewayStopping: try? await outbound.close(.goingAway, reason: text)
        default: try? await outbound.close(.normalClosure, reason: text)
        }
    }

    /// WebSocket close reasons must fit in 123 bytes.
    static func closeReason(_ text: String) -> String {
        var result = ""
        for character in text {
            if result.utf8.count + String(character).utf8.count > 120 { break }
            result.append(character)
        }
        return result
    }
}
