import Foundation
import JupyterProtocol
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("parse and serialize")
    func parseSerialize() throws {
        let value = try JSONValue.parse(#" {"b": [1, 2.5, -3e2, true, false, null], "a": "x\n\u00e9\ud83d\ude00", "c": {}} "#)
        #expect(value["a"] == "x\né😀")
        #expect(value["b"]?[1] == 2.5)
        #expect(value["b"]?[2]?.intValue == -300)
        #expect(value["b"]?[5] == .null)
        #expect(value["b"]?[9] == nil)
        #expect(value["c"] == [:])
        #expect(value.jsonString == #"{"a":"x\né😀","b":[1,2.5,-300,true,false,null],"c":{}}"#)
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test("control characters and quotes are escaped")
    func escaping() throws {
        let value: JSONValue = ["k\"": "\u{01}\t\\"]
        #expect(value.jsonString == #"{"k\"":"\u0001\t\\"}"#)
        #expect(try JSONValue.parse(value.jsonString) == value)
    }

    @Test("Codable round trip through Foundation")
    func codable() throws {
        let value: JSONValue = ["name": "python3", "argv": ["python", "-m", "ipykernel"], "interrupt": true, "n": 3, "x": nil]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        #expect(try JSONValue.parse([UInt8](data)) == value)
    }

    @Test("invalid documents throw")
    func invalid() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "tru", "1 2", "\"\\q\"", "-", "1.", "NaN"] {
            #expect(throws: ProtocolError.self, "\(text)") { try JSONValue.parse(text) }
        }
    }

    @Test("subscript setter")
    func setter() {
        var value: JSONValue = ["a": 1]
        value["b"] = "x"
        #expect(value == ["a": 1, "b": "x"])
        var array: JSONValue = [1]
        array["b"] = "x"
        #expect(array == [1])
    }
}

@Suite("ConnectionInfo")
struct ConnectionInfoTests {
    let file = #"""
    {"shell_port": 53794, "iopub_port": 53795, "stdin_port": 53796, "control_port": 53797, "hb_port": 53798,
     "ip": "10.0.0.5", "key": "a0436f6c-1916-498b-8eb9-e81ab9368e84", "transport": "tcp",
     "signature_scheme": "hmac-sha256", "kernel_name": "python3", "jupyter_session": "ignored"}
    """#

    @Test("decodes a jupyter_client connection file")
    func decode() throws {
        let info = try JSONDecoder().decode(ConnectionInfo.self, from: Data(file.utf8))
        #expect(info.shellPort == 53794)
        #expect(info.hbPort == 53798)
        #expect(info.kernelName == "python3")
        #expect(info.endpoint(for: info.shellPort) == "tcp://10.0.0.5:53794")
        #expect(info.endpoint(for: .iopub) == "tcp://10.0.0.5:53795")
        #expect(try info.makeSigner().isSigning)
        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(info))
        #expect(encoded["signature_scheme"] == "hmac-sha256")
        #expect(encoded["control_port"] == 53797)
        #expect(try JSONDecoder().decode(ConnectionInfo.self, from: JSONEncoder().encode(info)) == info)
    }

    @Test("defaults and endpoints")
    func defaults() throws {
        let minimal = #"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}"#
        var info = try JSONDecoder().decode(ConnectionInfo.self, from: Data(minimal.utf8))
        #expect(info.transport == "tcp")
        #expect(info.signatureScheme == "hmac-sha256")
        #expect(info.key == "")
        #expect(info.kernelName == nil)
        info.ip = "::1"
        #expect(info.endpoint(for: .hb) == "tcp://[::1]:5")
        info.transport = "ipc"
        info.ip = "/tmp/kernel"
        #expect(info.endpoint(for: .control) == "ipc:///tmp/kernel-4")
        info.signatureScheme = "hmac-whatever"
        #expect(throws: ProtocolError.unknownSignatureScheme("hmac-whatever")) { try info.makeSigner() }
    }
}

@Suite("MessageFactory")
struct MessageFactoryTests {
    @Test("builds a status message with a full header")
    func status() throws {
        let parent = sampleParts()
        let parts = MessageFactory.make(msgType: "status", content: ["execution_state": "restarting"], session: "s-1",
                                        parent: parent)
        let header = try JSONValue.parse(parts.header)
        #expect(header["msg_type"] == "status")
        #expect(header["session"] == "s-1")
        #expect(header["username"] == "elastic-jupyter")
        #expect(header["version"] == "5.3")
        let msgID = try #require(header["msg_id"]?.stringValue)
        #expect(UUID(uuidString: msgID) != nil)
        let date = try #require(header["date"]?.stringValue)
        #expect(date.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil)
        #expect(parts.parentHeader == parent.header)
        #expect(parts.metadata == Array(utf8: "{}"))
        #expect(try JSONValue.parse(parts.content) == ["execution_state": "restarting"])
        let peek = MessagePeek.peek(parts)
        #expect(peek.executionState == "restarting")
        #expect(peek.parentMsgID == "m1")
        #expect(peek.msgID == msgID)
    }

    @Test("defaults: no parent, empty content, unique ids")
    func defaults() throws {
        let a = MessageFactory.make(msgType: "kernel_info_request", session: "s", username: "u\"x")
        let b = MessageFactory.make(msgType: "kernel_info_request", content: JSONValue.object([:]), session: "s")
        #expect(a.parentHeader == Array(utf8: "{}"))
        #expect(a.content == Array(utf8: "{}"))
        #expect(try JSONValue.parse(a.header)["username"] == "u\"x")
        #expect(MessagePeek.peek(a).msgID != MessagePeek.peek(b).msgID)
        let status = MessageFactory.status("dead", session: "s")
        #expect(MessagePeek.peek(status).executionState == "dead")
    }
}
