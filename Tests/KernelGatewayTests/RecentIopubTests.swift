import JupyterProtocol
import Testing
@testable import KernelGateway

@Suite("Replay of recent iopub to a session that reconnects from another replica")
struct RecentIopubTests {
    func message(_ text: String) -> ChannelMessage {
        ChannelMessage(channel: .iopub, parts: MessageFactory.make(msgType: "stream", content: ["text": .string(text)], session: "k"))
    }

    @Test func replaysOnlyWhatFollowsTheCursorAndNothingForAnUnknownOne() {
        let account = MemoryAccount.unlimited(kernelID: "k")
        var recent = RecentIopub()
        for index in 0..<5 { recent.append(message("\(index)"), msgID: "m\(index)", account: account) }
        #expect(recent.after("m2").map { $0.parts.content } == [message("3").parts.content, message("4").parts.content])
        #expect(recent.after("m4").isEmpty)
        #expect(recent.after("unknown").isEmpty, "an unknown cursor replays nothing rather than duplicates")
    }

    @Test func isBoundedByCountAndRemembersServedSessions() {
        let account = MemoryAccount.unlimited(kernelID: "k")
        var recent = RecentIopub()
        for index in 0..<(RecentIopub.maxMessages + 10) { recent.append(message("x"), msgID: "m\(index)", account: account) }
        let total = RecentIopub.maxMessages + 10
        let size = message("x").parts.byteCount
        #expect(recent.after("m0").isEmpty, "the oldest messages were dropped")
        let kept = min(RecentIopub.maxMessages, RecentIopub.maxBytes / size)
        #expect(recent.after("m\(total - kept)").count == kept - 1, "bounded by count and bytes, newest kept")
        #expect(!recent.hasSeen("s"))
        recent.noteSeen("s")
        #expect(recent.hasSeen("s"))
    }

    @Test func aClientClosedBecauseTheGatewayStopsKeepsItsCursorAndDropsItsQueue() async {
        let client = ClientConnection(sessionID: "s", wsProtocol: .v1, queueMessages: 10, queueBytes: 1 << 20)
        client.enqueue(message("a"), iopubID: "m1")
        client.enqueue(message("b"), iopubID: "m2")
        _ = await client.next()
        client.close(reason: .gatewayStopping)
        #expect(await client.next() == nil, "the rest is replayed by the next replica, not sent here")
        #expect(client.lastIopubID == "m1")
    }
}
