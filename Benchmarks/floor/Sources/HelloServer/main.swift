import Hummingbird
import HummingbirdWebSocket

/// Usage: `HelloServer PORT` — serves `GET /` and an echoing WebSocket at `/ws` on 127.0.0.1:PORT.
let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 0 : 0

let router = Router(context: BasicWebSocketRequestContext.self)
router.get("/") { _, _ in "hello\n" }
router.ws("/ws") { _, _ in
    .upgrade([:])
} onUpgrade: { inbound, outbound, _ in
    for try await message in inbound.messages(maxSize: 1 << 20) {
        if case .text(let text) = message { try await outbound.write(.text(text)) }
    }
}
let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(webSocketRouter: router),
    configuration: .init(address: .hostname("127.0.0.1", port: port))
)
try await app.runService()
