import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1

/// A WebSocket upgrade that is refused (no token, unknown kernel...) must get its real status and JSON
/// body, as EG's does. Hummingbird answers every refused upgrade with a bare 400, so for upgrade requests
/// this middleware writes the error response itself, straight onto the connection, and closes it.
struct UpgradeErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    /// Passes the request on; an ``APIError`` of a WebSocket upgrade request is written to the connection before
    /// it is rethrown (for the log and for ordinary requests, which Hummingbird answers as usual).
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if request.headers[.upgrade]?.lowercased() == "websocket" {
                await Self.writeAndClose(error, channel: context.channel)
            }
            throw error
        }
    }

    /// Writes `error` as a complete HTTP/1.1 response (status, its headers, the JSON body, `Connection: close`)
    /// on the raw channel, then closes it. Write failures are ignored: the client is gone.
    static func writeAndClose(_ error: APIError, channel: any Channel) async {
        let body = error.jsonBody
        var headers = HTTPHeaders()
        for field in error.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        headers.replaceOrAdd(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: Int(error.status.code)), headers: headers)
        do {
            try await channel.writeAndFlush(HTTPServerResponsePart.head(head))
            try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        } catch {}
        try? await channel.close()
    }
}
