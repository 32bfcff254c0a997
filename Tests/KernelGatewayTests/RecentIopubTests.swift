import JupyterProtocol
import Testing
@testable import KernelGateway

@Suite("Replay of recent iopub to a session that reconnects from another replica")
struct RecentIopubTests {
    func message(_ text: String) -> ChannelMessage {
        ChannelMessage(channel: .iopub, parts: MessageFactory.make(msgType: "stream", content: ["text": .string(text)], session: "k"))
    }

    /// A stream message with a fixed header date (second `second` of a minute).
    func dated(_ text: String, second: Int) -> ChannelMessage {
        let header = #"{"msg_id":"d\#(second)","msg_type":"stream","session":"k","date":"2026-12-05T21:30:\#(second < 10 ? "0" : "")\#(second).250000Z"}"#
        return ChannelMessage(channel: .iopub, parts: MessageParts(header: Array(header.utf8), parentHeader: Array("{}".utf8),
                                                                   metadata: Array("{}".utf8), content: Array(#"{"text":"\#(text)"}"#.utf8)))
    }

    @Test func replaysOnlyWhatFollowsTheCursorAndNothingForAnUnknownOne() {
        let account = MemoryAccount.unlimited(kernelID: "k")
        var recent = RecentIopub()
        for index in 0..<5 { recent.append(message("\(index)"), msgID: "m\(index)", account: account) }
        #expect(recent.after(cursor("m2")).map { $0.parts.content } == [message("3").parts.content, message("4").parts.content])
        #expect(recent.after(cursor("m4")).isEmpty)
        #expect(recent.after(cursor("unknown")).isEmpty, "an unknown undated cursor replays nothing rather than duplicates")
    }

    @Test func aCursorNotKeptHereReplaysWhatTheKernelDatedAfterIt() {
        let account = MemoryAccount.unlimited(kernelID: "k")
        var recent = RecentIopub()
        // This replica started keeping at second 10; the client's last message (second 7) was never kept here.
        for second in 10..<14 { recent.append(dated("\(second)", second: second), msgID: "d\(second)", account: account) }
        let missed = recent.after(IopubCursor(msgID: "d7", date: "2026-12-05T21:30:07.250000Z"))
        #expect(missed.map { $0.parts.content } == (10..<14).map { dated("\($0)", second: $0).parts.content })
        let later = recent.after(IopubCursor(msgID: "gone", date: "2026-12-05T21:30:11.250000Z"))
        #expect(later.map { $0.parts.content } == (12..<14).map { dated("\($0)", second: $0).parts.content },
                "only messages dated after the cursor: none twice")
        #expect(recent.after(IopubCursor(msgID: "gone", date: "not a date")).isEmpty)
        #expect(recent.date(of: "d11") == "2026-12-05T21:30:11.250000Z")
        #expect(recent.after(IopubCursor(msgID: "d12", date: nil)).count == 1, "a kept cursor needs no date")
    }

    func cursor(_ msgID: String) -> IopubCursor { IopubCursor(msgID: msgID, date: nil) }

    @Test func isBoundedByCountAndRemembersServedSessions() {
        let account = MemoryAccount.unlimited(kernelID: "k")
        var recent = RecentIopub()
        for index in 0..<(RecentIopub.maxMessages + 10) { recent.append(message("x"), msgID: "m\(index)", account: account) }
        let total = RecentIopub.maxMessages + 10
        let size = message("x").parts.byteCount
        #expect(recent.after(cursor("m0")).isEmpty, "the oldest messages were dropped")
        let kept = min(RecentIopub.maxMessages, RecentIopub.maxBytes / size)
        #expect(recent.after(cursor("m\(total - kept)")).count == kept - 1, "bounded by count and bytes, newest kept")
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
