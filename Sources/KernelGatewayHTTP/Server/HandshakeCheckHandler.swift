import Foundation
import NIOCore
import NIOHTTP1

/// Answers a malformed WebSocket handshake with 400 and a JSON body. NIO's upgrader refuses a request that
/// asks for `Upgrade: websocket` without a usable `Sec-WebSocket-Key` or with another `Sec-WebSocket-Version`
/// than 13 by dropping the connection, which a client cannot tell from a crash. Sits just after the request
/// decoder for the connection's first request (the only one that may upgrade), then removes itself.
final class HandshakeCheckHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Inserts the handler after the HTTP request decoder, if the pipeline has one.
    static func install(on channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        guard let decoder = try? operations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self) else { return }
        try operations.addHandler(HandshakeCheckHandler(), position: .after(decoder.handler))
    }

    private var refusing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing { return }
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        if let problem = Self.problem(head.headers) {
            refusing = true
            Self.refuse(context: context, problem: problem)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// What is wrong with a WebSocket handshake, or nil (also for requests that do not ask to upgrade).
    static func problem(_ headers: HTTPHeaders) -> String? {
        let upgrade = headers[canonicalForm: "upgrade"].map { $0.lowercased() }
        let connection = headers[canonicalForm: "connection"].map { $0.lowercased() }
        guard upgrade.contains("websocket"), connection.contains("upgrade") else { return nil }
        let keys = headers["sec-websocket-key"]
        guard keys.count == 1, let key = Data(base64Encoded: keys[0].trimmingCharacters(in: .whitespaces)), key.count == 16 else {
            return "Sec-WebSocket-Key must be one base64-encoded 16-byte value"
        }
        guard headers["sec-websocket-version"] == ["13"] else { return "Sec-WebSocket-Version must be 13" }
        return nil
    }

    static func refuse(context: ChannelHandlerContext, problem: String) {
        let body = (try? JSONSerialization.data(
            withJSONObject: ["reason": "Bad Request", "message": "Invalid WebSocket handshake: \(problem)"], options: [.sortedKeys]))
            ?? Data()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Sec-WebSocket-Version", value: "13")
        context.write(NIOAny(HTTPServerResponsePart.head(.init(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
