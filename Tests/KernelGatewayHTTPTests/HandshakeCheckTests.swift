import NIOHTTP1
import Testing
@testable import KernelGatewayHTTP

@Suite struct HandshakeCheckTests {
    func headers(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }
    let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade")]

    @Test func validHandshakesAndPlainRequestsPass() {
        #expect(HandshakeCheckHandler.problem(headers(upgrade + [
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ])) == nil)
        #expect(HandshakeCheckHandler.problem(headers([("Host", "x")])) == nil)
    }

    @Test func malformedHandshakesAreNamed() {
        #expect(HandshakeCheckHandler.problem(headers(upgrade + [("Sec-WebSocket-Version", "13")]))?.contains("Key") == true)
        #expect(HandshakeCheckHandler.problem(headers(upgrade + [
            ("Sec-WebSocket-Key", "not base64!"), ("Sec-WebSocket-Version", "13"),
        ]))?.contains("Key") == true)
        #expect(HandshakeCheckHandler.problem(headers(upgrade + [
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "99"),
        ]))?.contains("Version") == true)
    }
}
