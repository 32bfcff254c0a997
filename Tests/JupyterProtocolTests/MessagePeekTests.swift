import JupyterProtocol
import Testing

@Suite("MessagePeek byte scanning")
struct MessagePeekTests {
    private func parts(header: String, parent: String = "{}", content: String = "{}") -> MessageParts {
        MessageParts(header: Array(utf8: header), parentHeader: Array(utf8: parent), metadata: Array(utf8: "{}"),
                     content: Array(utf8: content), buffers: [])
    }

    @Test("reads header, parent and status fields")
    func basic() {
        let peek = MessagePeek.peek(parts(
            header: #"{"msg_id": "id-1", "msg_type": "status", "session": "sess", "username": "u"}"#,
            parent: #"{"msg_id": "parent-1", "session": "psess", "msg_type": "execute_request"}"#,
            content: #"{"execution_state": "busy"}"#))
        #expect(peek == MessagePeek(msgType: "status", msgID: "id-1", session: "sess", parentMsgID: "parent-1",
                                    parentSession: "psess", executionState: "busy"))
    }

    @Test("decodes escapes in values, including surrogate pairs")
    func escapedStrings() {
        let peek = MessagePeek.peek(parts(
            header: #"{"msg_id": "a\"b\\c\/d\n\u00e9\ud83d\ude00", "msg_type": "exec\u0075te_request", "session": "caf\u00c3"}"#))
        #expect(peek.msgID == "a\"b\\c/d\né😀")
        #expect(peek.msgType == "execute_request")
        #expect(peek.session == "cafÃ")
    }

    @Test("raw UTF-8 values are kept")
    func rawUTF8() {
        let peek = MessagePeek.peek(parts(header: #"{"session": "日本語 😀", "msg_type": "x"}"#))
        #expect(peek.session == "日本語 😀")
    }

    @Test("lone surrogate escapes become U+FFFD")
    func loneSurrogate() {
        let peek = MessagePeek.peek(parts(header: #"{"msg_id": "x\ud800y"}"#))
        #expect(peek.msgID == "x\u{FFFD}y")
    }

    @Test("only top-level keys count; nested objects, arrays and strings are skipped")
    func nested() {
        let header = #"""
        {"nested": {"msg_id": "wrong", "msg_type": "wrong", "deeper": [{"session": "wrong"}, "msg_id"]},
         "list": ["msg_type", {"msg_type": "wrong"}, [[["x"]]]],
         "text": "\"msg_id\": \"wrong\", {\"session\": 1}",
         "msg_id" : "right-id", "n": -1.5e+10, "t": true, "f": false, "z": null,
         "msg_type":"right-type","session":"right-session"}
        """#
        let peek = MessagePeek.peek(parts(header: header, content: #"{"x": {"execution_state": "wrong"}}"#))
        #expect(peek.msgID == "right-id")
        #expect(peek.msgType == "right-type")
        #expect(peek.session == "right-session")
        #expect(peek.executionState == nil)
    }

    @Test("escaped keys are matched after decoding")
    func escapedKeys() {
        let peek = MessagePeek.peek(parts(header: #"{"msg\u005fid": "k1", "msg_typ\u0065": "status"}"#,
                                          content: #"{"execution\u005fstate": "idle"}"#))
        #expect(peek.msgID == "k1")
        #expect(peek.msgType == "status")
        #expect(peek.executionState == "idle")
    }

    @Test("execution_state is only read for status messages")
    func executionStateOnlyForStatus() {
        let peek = MessagePeek.peek(parts(header: #"{"msg_type": "stream"}"#, content: #"{"execution_state": "idle"}"#))
        #expect(peek.executionState == nil)
    }

    @Test("missing, non-string and malformed fields give nil; last duplicate wins")
    func missingAndMalformed() {
        #expect(MessagePeek.peek(parts(header: "{}")) == MessagePeek())
        #expect(MessagePeek.peek(parts(header: #"{"msg_id": 5, "msg_type": null, "session": {"a": 1}}"#)) == MessagePeek())
        #expect(MessagePeek.peek(MessageParts(header: [], parentHeader: [], metadata: [], content: [], buffers: [])) == MessagePeek())
        #expect(MessagePeek.peek(parts(header: "not json")) == MessagePeek())
        #expect(MessagePeek.peek(parts(header: #"["msg_id", "x"]"#)) == MessagePeek())
        #expect(MessagePeek.peek(parts(header: #"{"msg_id": "a", "msg_id": "b"}"#)).msgID == "b")
        // A truncated header still yields the fields before the damage.
        let truncated = MessagePeek.peek(parts(header: #"{"msg_id": "ok", "msg_type": "sta"#))
        #expect(truncated.msgID == "ok")
        #expect(truncated.msgType == nil)
    }

    @Test("topLevelString helper")
    func topLevelString() {
        let json = Array(utf8: #"{"a": {"name": "inner"}, "name": "outer", "n\u0061me2": "x"}"#)
        #expect(MessagePeek.topLevelString("name", in: json) == "outer")
        #expect(MessagePeek.topLevelString("name2", in: json) == "x")
        #expect(MessagePeek.topLevelString("missing", in: json) == nil)
    }

    @Test("golden messages peek correctly")
    func golden() throws {
        for vector in try Golden.v1.cases {
            let peek = MessagePeek.peek(vector.parts.messageParts)
            let header = try json(vector.parts.messageParts.header)
            let parent = try json(vector.parts.messageParts.parentHeader)
            #expect(peek.msgType == header["msg_type"]?.stringValue)
            #expect(peek.msgID == header["msg_id"]?.stringValue)
            #expect(peek.session == header["session"]?.stringValue)
            #expect(peek.parentMsgID == parent["msg_id"]?.stringValue)
            #expect(peek.parentSession == parent["session"]?.stringValue)
        }
    }
}
