/// The legacy (no subprotocol) WebSocket encodings of PROTOCOL.md 2.2.
///
/// Text frames carry one JSON message dict. Binary frames carry the same dict (without `buffers`) followed by
/// raw buffers:
/// ```
/// u32be nbufs            (= 1 + number of buffers)
/// u32be offsets[nbufs]   (absolute; [0] = 4 * (nbufs + 1), the JSON dict; the last part runs to the end)
/// JSON dict, buffer_0, ..., buffer_{n-1}
/// ```
enum LegacyFrameCodec {
    // MARK: Gateway -> client

    /// The message dict, spliced from the raw parts in the key order and separators of Python's `json.dumps`:
    /// `{"header": H, "msg_id": I, "msg_type": T, "parent_header": P, "metadata": M, "content": C[, "buffers": []], "channel": "c"}`.
    struct DictEncoding: ByteEncoding {
        let message: ChannelMessage
        let includesEmptyBuffers: Bool
        let msgID: Range<Int>?
        let msgType: Range<Int>?

        init(message: ChannelMessage, includesEmptyBuffers: Bool) {
            self.message = message
            self.includesEmptyBuffers = includesEmptyBuffers
            var msgID: Range<Int>?
            var msgType: Range<Int>?
            message.parts.header.withUnsafeBufferPointer { bytes in
                let scanner = JSONScanner(bytes)
                _ = try? scanner.forEachMember(0) { member in
                    if scanner.key(of: member, is: "msg_id") {
                        msgID = member.valueStart..<member.valueEnd
                    } else if scanner.key(of: member, is: "msg_type") {
                        msgType = member.valueStart..<member.valueEnd
                    }
                }
            }
            self.msgID = msgID
            self.msgType = msgType
        }

        @inline(__always)
        private func writePart<Sink: ByteSink>(_ part: [UInt8], to sink: inout Sink) {
            if part.isEmpty { sink.append("{}") } else { sink.append(part) }
        }

        @inline(__always)
        private func writeHeaderValue<Sink: ByteSink>(_ range: Range<Int>?, to sink: inout Sink) {
            if let range { sink.append(message.parts.header[range]) } else { sink.append("null") }
        }

        func write<Sink: ByteSink>(to sink: inout Sink) {
            let parts = message.parts
            sink.append("{\"header\": ")
            writePart(parts.header, to: &sink)
            sink.append(", \"msg_id\": ")
            writeHeaderValue(msgID, to: &sink)
            sink.append(", \"msg_type\": ")
            writeHeaderValue(msgType, to: &sink)
            sink.append(", \"parent_header\": ")
            writePart(parts.parentHeader, to: &sink)
            sink.append(", \"metadata\": ")
            writePart(parts.metadata, to: &sink)
            sink.append(", \"content\": ")
            writePart(parts.content, to: &sink)
            if includesEmptyBuffers { sink.append(", \"buffers\": []") }
            sink.append(", \"channel\": \"")
            sink.append(utf8: message.channel.rawValue)
            sink.append("\"}")
        }
    }

    /// A legacy binary frame: offset table, JSON dict, buffers.
    struct BinaryEncoding: ByteEncoding {
        let dict: DictEncoding

        func write<Sink: ByteSink>(to sink: inout Sink) {
            var counter = ByteCounter()
            dict.write(to: &counter)
            let buffers = dict.message.parts.buffers
            let nbufs = 1 + buffers.count
            var offset = 4 * (nbufs + 1)
            sink.appendUInt32BE(UInt32(truncatingIfNeeded: nbufs))
            sink.appendUInt32BE(UInt32(truncatingIfNeeded: offset))
            offset += counter.count
            for buffer in buffers.dropLast() {
                sink.appendUInt32BE(UInt32(truncatingIfNeeded: offset))
                offset += buffer.count
            }
            if !buffers.isEmpty { sink.appendUInt32BE(UInt32(truncatingIfNeeded: offset)) }
            dict.write(to: &sink)
            for buffer in buffers { sink.append(buffer) }
        }
    }

    static func encode(_ message: ChannelMessage) -> WebSocketFrame {
        if message.parts.buffers.isEmpty {
            return .text(DictEncoding(message: message, includesEmptyBuffers: true).makeString())
        }
        return .binary(BinaryEncoding(dict: DictEncoding(message: message, includesEmptyBuffers: false)).makeBytes())
    }

    // MARK: Client -> gateway

    static func decodeText(_ text: String, limits: WebSocketCodecLimits) throws(ProtocolError) -> ChannelMessage {
        let size = text.utf8.count
        guard size <= limits.maxFrameSize else { throw .frameTooLarge(size) }
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(ProtocolError) -> ChannelMessage in try decodeDict(bytes, buffers: nil) }
        }
        return try result.get()
    }

    static func decodeBinary(_ frame: [UInt8], limits: WebSocketCodecLimits) throws(ProtocolError) -> ChannelMessage {
        guard frame.count <= limits.maxFrameSize else { throw .frameTooLarge(frame.count) }
        return try withBytes(frame) { bytes throws(ProtocolError) in try decodeBinary(bytes, limits: limits) }
    }

    @inline(__always)
    private static func readUInt32BE(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int {
        Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
    }

    static func decodeBinary(_ bytes: UnsafeBufferPointer<UInt8>, limits: WebSocketCodecLimits) throws(ProtocolError) -> ChannelMessage {
        let size = bytes.count
        guard size >= 4 else { throw .malformedFrame("binary frame of \(size) bytes has no part count") }
        let nbufs = readUInt32BE(bytes, 0)
        guard nbufs >= 1 else { throw .malformedFrame("binary frame declares no JSON part") }
        // Bound the declared count by what physically fits before trusting it for anything.
        guard nbufs <= size / 4 - 1 else {
            throw .malformedFrame("binary frame declares \(nbufs) parts but has only \(size) bytes")
        }
        guard nbufs + 3 <= limits.maxParts else { throw .tooManyParts(nbufs + 3) }
        let tableEnd = 4 * (nbufs + 1)
        @inline(__always) func start(_ index: Int) -> Int { readUInt32BE(bytes, 4 * (index + 1)) }
        @inline(__always) func end(_ index: Int) -> Int { index + 1 < nbufs ? start(index + 1) : size }
        guard start(0) == tableEnd else {
            throw .malformedFrame("binary frame first offset must be \(tableEnd), the end of the offset table")
        }
        var previous = tableEnd
        for index in 1..<nbufs {
            let value = start(index)
            guard value >= previous else { throw .malformedFrame("binary frame offsets decrease at index \(index)") }
            guard value <= size else { throw .malformedFrame("binary frame offset \(value) beyond frame of \(size) bytes") }
            previous = value
        }
        var buffers: [[UInt8]] = []
        if nbufs > 1 {
            buffers.reserveCapacity(nbufs - 1)
            for index in 1..<nbufs {
                buffers.append(Array(UnsafeBufferPointer(rebasing: bytes[start(index)..<end(index)])))
            }
        }
        return try decodeDict(UnsafeBufferPointer(rebasing: bytes[start(0)..<end(0)]), buffers: buffers)
    }

    /// Parses the message dict. `buffers` is `nil` for text frames (whose `buffers` key must then be empty) and the
    /// frame's raw buffers for binary frames (whose `buffers` key, if any, is ignored).
    private static func decodeDict(_ bytes: UnsafeBufferPointer<UInt8>, buffers: [[UInt8]]?) throws(ProtocolError) -> ChannelMessage {
        let scanner = JSONScanner(bytes)
        var header: Range<Int>?
        var parentHeader: Range<Int>?
        var metadata: Range<Int>?
        var content: Range<Int>?
        var channel: JSONMember?
        var buffersValue: Range<Int>?
        let end = try scanner.forEachMember(0) { member in
            let range = member.valueStart..<member.valueEnd
            if scanner.key(of: member, is: "header") {
                header = range
            } else if scanner.key(of: member, is: "parent_header") {
                parentHeader = range
            } else if scanner.key(of: member, is: "metadata") {
                metadata = range
            } else if scanner.key(of: member, is: "content") {
                content = range
            } else if scanner.key(of: member, is: "channel") {
                channel = member
            } else if scanner.key(of: member, is: "buffers") {
                buffersValue = range
            }
        }
        guard scanner.skipWhitespace(end) == bytes.count else { throw .invalidJSON("trailing characters after message") }

        guard let header else { throw .invalidJSON("message has no header") }
        guard bytes[header.lowerBound] == UInt8(ascii: "{") else { throw .invalidJSON("header is not a JSON object") }

        func objectPart(_ range: Range<Int>?, _ name: StaticString) throws(ProtocolError) -> [UInt8] {
            guard let range, !scanner.isNull(range) else { return Array("{}".utf8) }
            guard bytes[range.lowerBound] == UInt8(ascii: "{") else { throw .invalidJSON("\(name) is not a JSON object") }
            return Array(UnsafeBufferPointer(rebasing: bytes[range]))
        }

        let kernelChannel: KernelChannel
        if let channel, !scanner.isNull(channel.valueStart..<channel.valueEnd) {
            if let name = scanner.stringValue(of: channel) {
                guard let known = KernelChannel(rawValue: name) else {
                    throw .unknownChannel(String(name.prefix(64)))
                }
                kernelChannel = known
            } else {
                let raw = UnsafeBufferPointer(rebasing: bytes[channel.valueStart..<min(channel.valueEnd, channel.valueStart + 64)])
                throw .unknownChannel(String(decoding: raw, as: UTF8.self))
            }
        } else {
            kernelChannel = .shell
        }

        if buffers == nil, let buffersValue, !scanner.isNull(buffersValue), !scanner.isEmptyContainer(buffersValue) {
            throw .malformedFrame("a text frame cannot carry buffers; use a binary frame")
        }

        let parts = MessageParts(
            header: Array(UnsafeBufferPointer(rebasing: bytes[header])),
            parentHeader: try objectPart(parentHeader, "parent_header"),
            metadata: try objectPart(metadata, "metadata"),
            content: try objectPart(content, "content"),
            buffers: buffers ?? []
        )
        return ChannelMessage(channel: kernelChannel, parts: parts)
    }
}
