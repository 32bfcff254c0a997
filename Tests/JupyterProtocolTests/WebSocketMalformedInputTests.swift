import Foundation
import JupyterProtocol
import Testing

@Suite("WebSocket decoding rejects malformed input")
struct WebSocketMalformedInputTests {
    private func v1(_ bytes: [UInt8], limits: WebSocketCodecLimits = .init()) throws(ProtocolError) -> ChannelMessage {
        try WebSocketCodec.decode(.binary(bytes), protocol: .v1, limits: limits)
    }

    private func isMalformed(_ error: ProtocolError) -> Bool {
        if case .malformedFrame = error { return true }
        return false
    }

    @Test("70-byte v1 frame claiming 2^40 offsets fails fast without allocating")
    func hugeOffsetCount() throws {
        var frame = u64le(1 << 40) + [UInt8](repeating: 0x41, count: 62)
        #expect(frame.count == 70)
        let start = ContinuousClock.now
        let error = #expect(throws: ProtocolError.self) { try v1(frame) }
        #expect(error.map(isMalformed) == true)
        #expect(ContinuousClock.now - start < .milliseconds(50))
        // Same for the other maximal claims.
        frame.replaceSubrange(0..<8, with: u64le(.max))
        #expect(throws: ProtocolError.self) { try v1(frame) }
    }

    @Test("legacy binary frame claiming 2^32-1 parts fails fast")
    func hugeLegacyCount() throws {
        let frame = u32be(.max) + [UInt8](repeating: 0, count: 66)
        let error = #expect(throws: ProtocolError.self) {
            try WebSocketCodec.decode(.binary(frame), protocol: .legacy)
        }
        #expect(error.map(isMalformed) == true)
        #expect(throws: ProtocolError.self) {
            try WebSocketCodec.decode(.binary(u32be(0) + [1, 2, 3, 4]), protocol: .legacy)
        }
        #expect(throws: ProtocolError.self) { try WebSocketCodec.decode(.binary([0, 0]), protocol: .legacy) }
    }

    @Test("v1 offsets out of range, decreasing, overflowing or not covering the frame")
    func badV1Offsets() throws {
        let good = V1Bytes.valid()
        #expect(try v1(good).channel == .shell)

        let table = 8 * 7
        let payload = Array(good[table...])
        func frame(_ offsets: [UInt64]) -> [UInt8] { rawV1Frame(offsetCount: 6, offsets: offsets, payload: payload) }
        let ends = V1Bytes.offsets()
        #expect(try v1(frame(ends)).channel == .shell)

        var decreasing = ends
        decreasing[3] = decreasing[2] - 1
        var outOfRange = ends
        outOfRange[4] = UInt64(good.count + 100)
        var overflowing = ends
        overflowing[5] = .max
        var firstWrong = ends
        firstWrong[0] = 0
        var shortLast = ends
        shortLast[5] -= 1
        for bad in [decreasing, outOfRange, overflowing, firstWrong, shortLast] {
            let error = #expect(throws: ProtocolError.self) { try v1(frame(bad)) }
            #expect(error.map(isMalformed) == true)
        }
        // Too short to hold a count, and fewer than four parts.
        #expect(throws: ProtocolError.self) { try v1([1, 2, 3]) }
        #expect(throws: ProtocolError.self) { try v1([]) }
        let threeParts = ChannelMessageBytes.v1(channel: "shell", parts: [Array(utf8: "{}"), Array(utf8: "{}"), Array(utf8: "{}")])
        #expect(throws: ProtocolError.self) { try v1(threeParts) }
    }

    @Test("legacy binary offsets out of range or decreasing")
    func badLegacyOffsets() throws {
        let json = Array(utf8: #"{"header": {"msg_id": "x"}, "channel": "shell"}"#)
        let buffer: [UInt8] = [1, 2, 3]
        let tableEnd: UInt32 = 12
        let good = u32be(2) + u32be(tableEnd) + u32be(tableEnd + UInt32(json.count)) + json + buffer
        let decoded = try WebSocketCodec.decode(.binary(good), protocol: .legacy)
        #expect(decoded.parts.buffers == [buffer])

        let cases: [[UInt8]] = [
            u32be(2) + u32be(tableEnd) + u32be(tableEnd - 1) + json + buffer,           // decreasing
            u32be(2) + u32be(tableEnd) + u32be(10_000) + json + buffer,                 // out of range
            u32be(2) + u32be(0) + u32be(tableEnd + UInt32(json.count)) + json + buffer, // first offset wrong
            u32be(2) + u32be(tableEnd) + u32be(.max) + json + buffer,                   // huge
        ]
        for frame in cases {
            let error = #expect(throws: ProtocolError.self) { try WebSocketCodec.decode(.binary(frame), protocol: .legacy) }
            #expect(error.map(isMalformed) == true)
        }
    }

    @Test("unknown channels are rejected", arguments: ["hb", "HB", "Shell", "", "iopub ", "stdout"])
    func unknownChannel(name: String) throws {
        let v1Frame = ChannelMessageBytes.v1(channel: name, parts: V1Bytes.parts)
        #expect(throws: ProtocolError.unknownChannel(name)) { try v1(v1Frame) }
        let text = #"{"header": {}, "parent_header": {}, "metadata": {}, "content": {}, "channel": "\#(name)"}"#
        #expect(throws: ProtocolError.unknownChannel(name)) {
            try WebSocketCodec.decode(.text(text), protocol: .legacy)
        }
    }

    @Test("non-string channel in legacy JSON is an unknown channel")
    func nonStringChannel() throws {
        let text = #"{"header": {}, "channel": 5}"#
        #expect(throws: ProtocolError.unknownChannel("5")) { try WebSocketCodec.decode(.text(text), protocol: .legacy) }
        let nullChannel = #"{"header": {}, "channel": null}"#
        #expect(try WebSocketCodec.decode(.text(nullChannel), protocol: .legacy).channel == .shell)
    }

    @Test("non-UTF-8 input is rejected")
    func nonUTF8() throws {
        // v1 channel name.
        #expect(throws: ProtocolError.invalidUTF8) {
            try v1(ChannelMessageBytes.v1(bytes: [0xFF, 0xFE], parts: V1Bytes.parts))
        }
        // v1 JSON part with an invalid sequence inside a string, an overlong encoding and an encoded surrogate.
        for bad: [UInt8] in [[0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let header = Array(utf8: #"{"msg_id": ""#) + bad + Array(utf8: #""}"#)
            var parts = V1Bytes.parts
            parts[0] = header
            #expect(throws: ProtocolError.invalidUTF8) { try v1(ChannelMessageBytes.v1(channel: "shell", parts: parts)) }
            let legacyJSON = Array(utf8: #"{"header": {"msg_id": ""#) + bad + Array(utf8: #""}}"#)
            let legacy = u32be(1) + u32be(8) + legacyJSON
            #expect(throws: ProtocolError.invalidUTF8) { try WebSocketCodec.decode(.binary(legacy), protocol: .legacy) }
        }
    }

    @Test("JSON of the wrong shape is rejected", arguments: [
        #"[]"#,
        #""header""#,
        #"{"header": "x"}"#,
        #"{"header": []}"#,
        #"{"header": null}"#,
        #"{"parent_header": {}}"#,
        #"{"header": {}, "parent_header": 1}"#,
        #"{"header": {}, "metadata": []}"#,
        #"{"header": {}, "content": "text"}"#,
        #"{"header": {}, "buffers": ["AAAA"]}"#,
        #"{"header": {}"#,
        #"{"header": {},}"#,
        #"{"header": {}} x"#,
        #"{"header": {"a": NaN}}"#,
        #"{"header": {"a": 01}}"#,
        #"{"header": {"a": "\x"}}"#,
        #"{"header": {"a": "tab\#tinside"}}"#,
        #"{'header': {}}"#,
        "",
    ])
    func wrongShape(text: String) throws {
        #expect(throws: ProtocolError.self) { try WebSocketCodec.decode(.text(text), protocol: .legacy) }
    }

    @Test("v1 JSON parts must be objects (unless validation is disabled)")
    func v1PartsMustBeObjects() throws {
        for index in 0..<4 {
            var parts = V1Bytes.parts
            parts[index] = Array(utf8: "[1, 2]")
            let frame = ChannelMessageBytes.v1(channel: "shell", parts: parts)
            #expect(throws: ProtocolError.self) { try v1(frame) }
            #expect(try v1(frame, limits: .init(validatesJSON: false)).channel == .shell)
            parts[index] = Array(utf8: "{\"a\": ")
            #expect(throws: ProtocolError.self) { try v1(ChannelMessageBytes.v1(channel: "shell", parts: parts)) }
        }
    }

    @Test("a text frame in v1 is an error")
    func textFrameInV1() throws {
        let error = #expect(throws: ProtocolError.self) {
            try WebSocketCodec.decode(.text(#"{"header": {}}"#), protocol: .v1)
        }
        #expect(error.map(isMalformed) == true)
    }

    @Test("frames larger than the limits are rejected")
    func limits() throws {
        let frame = V1Bytes.valid()
        #expect(throws: ProtocolError.frameTooLarge(frame.count)) {
            try v1(frame, limits: .init(maxFrameSize: frame.count - 1))
        }
        let text = #"{"header": {}, "channel": "shell"}"#
        #expect(throws: ProtocolError.frameTooLarge(text.utf8.count)) {
            try WebSocketCodec.decode(.text(text), protocol: .legacy, limits: .init(maxFrameSize: 10))
        }
        #expect(throws: ProtocolError.frameTooLarge(70)) {
            try WebSocketCodec.decode(.binary([UInt8](repeating: 0, count: 70)), protocol: .legacy, limits: .init(maxFrameSize: 69))
        }
        let withBuffers = ChannelMessageBytes.v1(channel: "iopub", parts: V1Bytes.parts + [[1], [2], [3]])
        #expect(throws: ProtocolError.tooManyParts(7)) { try v1(withBuffers, limits: .init(maxParts: 6)) }
        #expect(try v1(withBuffers, limits: .init(maxParts: 7)).parts.buffers == [[1], [2], [3]])
        let legacy = WebSocketCodec.encode(ChannelMessage(channel: .iopub, parts: sampleParts(buffers: [[1], [2]])), protocol: .legacy)
        #expect(throws: ProtocolError.tooManyParts(6)) { try WebSocketCodec.decode(legacy, protocol: .legacy, limits: .init(maxParts: 5)) }
    }

    @Test("deep nesting is rejected instead of overflowing the stack")
    func deepNesting() throws {
        let depth = 100_000
        let text = #"{"header": {}, "content": {"a": "# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}"
        #expect(throws: ProtocolError.self) { try WebSocketCodec.decode(.text(text), protocol: .legacy) }
        let fine = #"{"header": {}, "content": {"a": "# + String(repeating: "[{\"b\":", count: 300) + "1" + String(repeating: "}]", count: 300) + "}}"
        #expect(try WebSocketCodec.decode(.text(fine), protocol: .legacy).channel == .shell)
    }
}

/// Builders for well-formed v1 frames.
enum ChannelMessageBytes {
    static func v1(channel: String, parts: [[UInt8]]) -> [UInt8] {
        v1(bytes: Array(channel.utf8), parts: parts)
    }

    static func v1(bytes channel: [UInt8], parts: [[UInt8]]) -> [UInt8] {
        let offsetCount = parts.count + 2
        var offsets: [UInt64] = [UInt64(8 * (1 + offsetCount))]
        offsets.append(offsets[0] + UInt64(channel.count))
        for part in parts { offsets.append(offsets.last! + UInt64(part.count)) }
        return rawV1Frame(offsetCount: UInt64(offsetCount), offsets: offsets, payload: channel + parts.flatMap { $0 })
    }
}

enum V1Bytes {
    static let parts: [[UInt8]] = [
        Array(utf8: #"{"msg_id": "m", "msg_type": "kernel_info_request"}"#),
        Array(utf8: "{}"), Array(utf8: "{}"), Array(utf8: "{}"),
    ]

    static func valid() -> [UInt8] { ChannelMessageBytes.v1(channel: "shell", parts: parts) }

    static func offsets() -> [UInt64] {
        var offsets: [UInt64] = [56, 61]
        for part in parts { offsets.append(offsets.last! + UInt64(part.count)) }
        return offsets
    }
}
