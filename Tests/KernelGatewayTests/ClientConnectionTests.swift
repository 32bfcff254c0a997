import JupyterProtocol
import Testing
@testable import KernelGateway

@Suite("Client send queue and offline buffer")
struct ClientConnectionTests {
    func message(_ text: String, type: String = "stream") -> ChannelMessage {
        ChannelMessage(channel: .iopub, parts: MessageFactory.make(
            msgType: type, content: ["text": .string(text)], session: "s"))
    }

    @Test func deliversInOrderThenEndsWhenClosed() async {
        let client = ClientConnection(sessionID: "s", wsProtocol: .legacy, queueMessages: 10, queueBytes: 1 << 20)
        #expect(client.enqueue(message("a")))
        #expect(client.enqueue(message("b")))
        let first = await client.next()
        let second = await client.next()
        #expect(first == message("a") || first?.parts.content == message("a").parts.content)
        #expect(second?.parts.content == message("b").parts.content)
        client.close(reason: .kernelStopped("bye"))
        #expect(await client.next() == nil)
        #expect(client.closeReason == .kernelStopped("bye"))
        #expect(!client.enqueue(message("c")))
    }

    @Test func waitingReaderIsWokenByEnqueue() async {
        let client = ClientConnection(sessionID: "s", wsProtocol: .v1, queueMessages: 10, queueBytes: 1 << 20)
        async let received = client.next()
        try? await Task.sleep(for: .milliseconds(50))
        client.enqueue(message("late"))
        #expect(await received?.parts.content == message("late").parts.content)
    }

    @Test func overflowDisconnectsTheClientWithAReason() async {
        let client = ClientConnection(sessionID: "s", wsProtocol: .legacy, queueMessages: 3, queueBytes: 1 << 20)
        for index in 0..<3 { #expect(client.enqueue(message("\(index)"))) }
        #expect(!client.enqueue(message("overflow")))
        #expect(client.closeReason?.isTooSlow == true)
        #expect(await client.next() == nil)
        #expect(client.queuedMessages == 0)
    }

    @Test func byteLimitAlsoApplies() {
        let client = ClientConnection(sessionID: "s", wsProtocol: .legacy, queueMessages: 1000, queueBytes: 600)
        var accepted = 0
        for _ in 0..<100 where client.enqueue(message(String(repeating: "x", count: 100))) { accepted += 1 }
        #expect(accepted < 10)
        #expect(client.closeReason != nil)
    }

    @Test func offlineBufferDropsOldestOutputButKeepsStatus() {
        var buffer = OfflineBuffer(maxMessages: 3, maxBytes: 1 << 20)
        buffer.append(message("busy", type: "status"), isStatus: true)
        buffer.append(message("1"), isStatus: false)
        buffer.append(message("2"), isStatus: false)
        buffer.append(message("3"), isStatus: false)
        buffer.append(message("idle", type: "status"), isStatus: true)
        #expect(buffer.messages.count == 3)
        #expect(buffer.messages.filter(\.isStatus).count == 2)
        #expect(buffer.messages[1].message.parts.content == message("3").parts.content)
        #expect(buffer.dropped == 2)
    }
}
