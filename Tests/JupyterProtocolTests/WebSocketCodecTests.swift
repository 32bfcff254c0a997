import JupyterProtocol
import Testing

@Suite("WebSocket codec round trips and details")
struct WebSocketCodecTests {
    @Test("v1 round trip for every channel, with and without buffers", arguments: KernelChannel.allCases)
    func v1RoundTrip(channel: KernelChannel) throws {
        for buffers in [[], [[0, 1, 2]], [[], [255], Array(repeating: 7, count: 1000)]] as [[[UInt8]]] {
            let message = ChannelMessage(channel: channel, parts: sampleParts(buffers: buffers))
            let frame = WebSocketCodec.encode(message, protocol: .v1)
            #expect(try WebSocketCodec.decode(frame, protocol: .v1) == message)
        }
    }

    @Test("v1 layout: count, absolute offsets, channel, parts")
    func v1Layout() throws {
        let parts = MessageParts(header: Array(utf8: "{}"), parentHeader: Array(utf8: "{}"), metadata: Array(utf8: "{}"),
                                 content: Array(utf8: "{}"), buffers: [[0xAB]])
        let frame = WebSocketCodec.encode(ChannelMessage(channel: .iopub, parts: parts), protocol: .v1)
        let expected = u64le(7) + [64, 69, 71, 73, 75, 77, 78].flatMap { u64le($0) } + Array(utf8: "iopub{}{}{}{}") + [0xAB]
        #expect(frame == .binary(expected))
    }

    @Test("legacy text encode splices the dict with msg_id and msg_type from the header")
    func legacyText() throws {
        let message = ChannelMessage(channel: .iopub, parts: sampleParts())
        guard case .text(let text) = WebSocketCodec.encode(message, protocol: .legacy) else {
            Issue.record("expected a text frame")
            return
        }
        let value = try JSONValue.parse(text)
        #expect(value["msg_id"] == "m1")
        #expect(value["msg_type"] == "execute_request")
        #expect(value["channel"] == "iopub")
        #expect(value["buffers"] == [])
        #expect(value["header"] == (try JSONValue.parse(sampleParts().header)))
        #expect(value["content"]?["code"] == "1+1")
        #expect(text.hasPrefix(#"{"header": {"msg_id": "m1""#))
        #expect(text.hasSuffix(#""buffers": [], "channel": "iopub"}"#))
        // And it decodes back (legacy text is also what old clients send).
        let decoded = try WebSocketCodec.decode(.text(text), protocol: .legacy)
        #expect(decoded.channel == .iopub)
        #expect(try JSONValue.parse(decoded.parts.header) == JSONValue.parse(sampleParts().header))
    }

    @Test("legacy text encode copes with a header missing msg_id, escaped values and empty parts")
    func legacyTextOddHeaders() throws {
        let parts = MessageParts(header: Array(utf8: #"{"msg_type": "a\"b\u00e9"}"#), parentHeader: [], metadata: [],
                                 content: [], buffers: [])
        guard case .text(let text) = WebSocketCodec.encode(ChannelMessage(channel: .shell, parts: parts), protocol: .legacy) else {
            Issue.record("expected a text frame")
            return
        }
        let value = try JSONValue.parse(text)
        #expect(value["msg_id"] == .null)
        #expect(value["msg_type"] == "a\"bé")
        #expect(value["parent_header"] == [:])
        #expect(value["content"] == [:])
    }

    @Test("legacy binary encode/decode round trip")
    func legacyBinaryRoundTrip() throws {
        let message = ChannelMessage(channel: .shell, parts: sampleParts(buffers: [[1, 2], [], [3]]))
        let frame = WebSocketCodec.encode(message, protocol: .legacy)
        guard case .binary(let bytes) = frame else {
            Issue.record("expected a binary frame")
            return
        }
        #expect(Array(bytes[0..<4]) == u32be(4))
        #expect(Array(bytes[4..<8]) == u32be(20))
        let decoded = try WebSocketCodec.decode(frame, protocol: .legacy)
        #expect(decoded.channel == .shell)
        #expect(decoded.parts.buffers == [[1, 2], [], [3]])
        #expect(decoded.parts.header == sampleParts().header)
        #expect(decoded.parts.content == sampleParts().content)
    }

    @Test("legacy decode keeps the client's header bytes verbatim and defaults the rest")
    func legacyVerbatimHeader() throws {
        let header = #"{ "msg_id":"x", "session":"", "username":"", "msg_type":"execute_request", "version":"5.0" }"#
        let text = #"{"header": \#(header), "buffers": {}, "content": {"code": "1"}}"#
        let message = try WebSocketCodec.decode(.text(text), protocol: .legacy)
        #expect(message.parts.header == Array(header.utf8))
        #expect(message.channel == .shell)
        #expect(message.parts.parentHeader == Array(utf8: "{}"))
        #expect(message.parts.metadata == Array(utf8: "{}"))
        #expect(message.parts.content == Array(utf8: #"{"code": "1"}"#))
        let nulls = #"{"header": {}, "parent_header": null, "metadata": null, "content": null, "buffers": null}"#
        let decoded = try WebSocketCodec.decode(.text(nulls), protocol: .legacy)
        #expect(decoded.parts.content == Array(utf8: "{}"))
    }

    @Test("subprotocol negotiation")
    func negotiate() {
        #expect(WebSocketProtocol.negotiate(offered: []) == .legacy)
        #expect(WebSocketProtocol.negotiate(offered: ["foo"]) == .legacy)
        #expect(WebSocketProtocol.negotiate(offered: [WebSocketProtocol.v1Name]) == .v1)
        #expect(WebSocketProtocol.negotiate(offered: ["foo, v1.kernel.websocket.jupyter.org"]) == .v1)
        #expect(WebSocketProtocol.negotiate(offered: ["foo", " v1.kernel.websocket.jupyter.org ,bar"]) == .v1)
        #expect(WebSocketProtocol.negotiate(offered: ["v1.kernel.websocket.jupyter.org.x"]) == .legacy)
        #expect(WebSocketProtocol.v1.subprotocolName == "v1.kernel.websocket.jupyter.org")
        #expect(WebSocketProtocol.legacy.subprotocolName == nil)
    }

    @Test("errors have descriptions")
    func descriptions() {
        #expect(ProtocolError.unknownChannel("hb").description.contains("hb"))
        #expect(ProtocolError.frameTooLarge(5).description.contains("5"))
    }
}

import NIOCore

@Suite("ByteBuffer entry points")
struct ByteBufferCodecTests {
    @Test("ByteBuffer encode/decode agree with the array versions")
    func agree() throws {
        let allocator = ByteBufferAllocator()
        for proto in [WebSocketProtocol.v1, .legacy] {
            for buffers in [[], [[1, 2, 3], []]] as [[[UInt8]]] {
                let message = ChannelMessage(channel: .iopub, parts: sampleParts(buffers: buffers))
                let arrayFrame = WebSocketCodec.encode(message, protocol: proto)
                let bufferFrame = WebSocketCodec.encode(message, protocol: proto, allocator: allocator)
                switch (arrayFrame, bufferFrame) {
                case (.text(let a), .text(let b)): #expect(a == b)
                case (.binary(let a), .binary(let b)): #expect(a == Array(b.readableBytesView))
                default: Issue.record("frame kinds differ for \(proto)")
                }
                if case .binary(let buffer) = bufferFrame {
                    #expect(try WebSocketCodec.decode(binary: buffer, protocol: proto) == WebSocketCodec.decode(arrayFrame, protocol: proto))
                }
            }
        }
        var slice = ByteBuffer(bytes: [9, 9] + u64le(1 << 40) + [UInt8](repeating: 0, count: 62))
        slice.moveReaderIndex(forwardBy: 2)
        #expect(throws: ProtocolError.self) { try WebSocketCodec.decode(binary: slice, protocol: .v1) }
    }
}
