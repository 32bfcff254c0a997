import Foundation
import KubernetesAPI
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request seen by ``FakeHTTPServer``.
struct FakeRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [String: String]
    var body: [UInt8]

    var bodyText: String { String(decoding: body, as: UTF8.self) }

    var json: KubeJSON? {
        try? JSONDecoder().decode(KubeJSON.self, from: Data(body))
    }
}

/// A piece of a streamed response.
enum FakeChunk: Sendable {
    /// Write these bytes as one chunk.
    case data(String)
    /// Pause.
    case delay(Duration)
    /// Keep the stream open until the client goes away or the server stops.
    case hold
    /// Drop the connection without finishing the response.
    case abort
}

/// What ``FakeHTTPServer`` answers.
enum FakeResponse: Sendable {
    /// A complete response.
    case full(status: Int, body: String, headers: [String: String] = [:])
    /// A chunked response written piece by piece.
    case stream(status: Int, chunks: [FakeChunk])

    /// A JSON response.
    static func json(_ status: Int = 200, _ body: KubeJSON, headers: [String: String] = [:]) -> FakeResponse {
        let data = (try? JSONEncoder().encode(body)) ?? Data()
        return .full(status: status, body: String(decoding: data, as: UTF8.self), headers: headers)
    }

    /// A `kind: Status` error.
    static func status(_ code: Int, reason: String, message: String = "", headers: [String: String] = [:])
        -> FakeResponse
    {
        .json(
            code,
            ["kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": .string(reason),
             "message": .string(message.isEmpty ? reason : message), "code": .int(Int64(code))],
            headers: headers)
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests, scripted by a handler. It lives only inside
/// ``with(_:_:)``; every connection is closed when the body returns.
final class FakeHTTPServer: Sendable {
    typealias Handler = @Sendable (FakeRequest) async -> FakeResponse

    let port: Int
    private let recorded = Mutex<[FakeRequest]>([])

    private init(port: Int) {
        self.port = port
    }

    /// `http://127.0.0.1:<port>`.
    var url: String { "http://127.0.0.1:\(port)" }

    /// Every request so far.
    var requests: [FakeRequest] { recorded.withLock { $0 } }

    /// Runs `body` with a server answering with `handler`.
    static func with<T: Sendable>(
        _ handler: @escaping Handler, _ body: (FakeHTTPServer) async throws -> T
    ) async throws -> T {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: child)
                }
            }
        let server = FakeHTTPServer(port: channel.channel.localAddress?.port ?? 0)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withThrowingDiscardingTaskGroup { connections in
                    try await channel.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await server.serve(connection, handler) }
                        }
                    }
                }
            }
            do {
                let result = try await body(server)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, _ handler: Handler
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    let request = Self.makeRequest(head, body)
                    recorded.withLock { $0.append(request) }
                    let keepGoing = try await write(await handler(request), to: outbound)
                    if !keepGoing { return }
                }
            }
        }
    }

    /// Writes a response; returns whether the connection may serve another request.
    private func write(_ response: FakeResponse, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>)
        async throws -> Bool
    {
        switch response {
        case .full(let status, let body, let extra):
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", "\(body.utf8.count)")])
            for (name, value) in extra { headers.add(name: name, value: value) }
            try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
            try await outbound.write(.end(nil))
            return true
        case .stream(let status, let chunks):
            let headers = HTTPHeaders([("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
            try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
            for chunk in chunks {
                switch chunk {
                case .data(let text):
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text))))
                case .delay(let duration):
                    try await Task.sleep(for: duration)
                case .hold:
                    try await Task.sleep(for: .seconds(3600))
                case .abort:
                    return false
                }
            }
            try await outbound.write(.end(nil))
            return true
        }
    }

    private static func makeRequest(_ head: HTTPRequestHead, _ body: ByteBuffer) -> FakeRequest {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                query[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
        }
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        return FakeRequest(
            method: head.method.rawValue, path: String(parts.first ?? ""), query: query, headers: headers,
            body: Array(body.readableBytesView))
    }
}
