/// The `v1.kernel.websocket.jupyter.org` binary layout (PROTOCOL.md 2.3), by byte splicing.
///
/// ```
/// u64le offset_count                 (= number of parts + 2)
/// u64le offsets[offset_count]        (absolute; [0] = end of the table, [last] = frame length)
/// channel name, header, parent_header, metadata, content, buffers...
/// ```
enum V1FrameCodec {
    struct Encoding: ByteEncoding {
        let message: ChannelMessage

        func write<Sink: ByteSink>(to sink: inout Sink) {
            let parts = message.parts
            let offsetCount = 4 + parts.buffers.count + 2
            var offset = 8 * (1 + offsetCount)
            sink.appendUInt64LE(UInt64(offsetCount))
            sink.appendUInt64LE(UInt64(offset))
            offset += message.channel.rawValue.utf8.count
            sink.appendUInt64LE(UInt64(offset))
            offset += parts.header.count
            sink.appendUInt64LE(UInt64(offset))
            offset += parts.parentHeader.count
            sink.appendUInt64LE(UInt64(offset))
            offset += parts.metadata.count
            sink.appendUInt64LE(UInt64(offset))
            offset += parts.content.count
            sink.appendUInt64LE(UInt64(offset))
            for buffer in parts.buffers {
                offset += buffer.count
                sink.appendUInt64LE(UInt64(offset))
            }
            sink.append(utf8: message.channel.rawValue)
            sink.append(parts.header)
            sink.append(parts.parentHeader)
            sink.append(parts.metadata)
            sink.append(parts.content)
            for buffer in parts.buffers { sink.append(buffer) }
        }
    }

    static func encode(_ message: ChannelMessage) -> [UInt8] {
        Encoding(message: message).makeBytes()
    }

    static func decode(_ frame: [UInt8], limits: WebSocketCodecLimits) throws(ProtocolError) -> ChannelMessage {
        guard frame.count <= limits.maxFrameSize else { throw .frameTooLarge(frame.count) }
        return try withBytes(frame) { bytes throws(ProtocolError) in try decode(bytes, limits: limits) }
    }

    @inline(__always)
    private static func readUInt64LE(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (at..<(at + 8)).reversed() { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, limits: WebSocketCodecLimits) throws(ProtocolError) -> ChannelMessage {
        let size = bytes.count
        guard size >= 8 else { throw .malformedFrame("v1 frame of \(size) bytes has no offset count") }
        // Bound the declared count by what physically fits before trusting it for anything.
        let declared = readUInt64LE(bytes, 0)
        guard declared <= UInt64(size / 8 - 1) else {
            throw .malformedFrame("v1 frame declares \(declared) offsets but has only \(size) bytes")
        }
        let offsetCount = Int(declared)
        guard offsetCount >= 6 else {
            throw .malformedFrame("v1 frame has \(max(offsetCount - 2, 0)) parts, needs at least 4")
        }
        let partCount = offsetCount - 2
        guard partCount <= limits.maxParts else { throw .tooManyParts(partCount) }

        let tableEnd = 8 * (1 + offsetCount)
        @inline(__always) func offset(_ index: Int) -> Int { Int(truncatingIfNeeded: readUInt64LE(bytes, 8 * (index + 1))) }
        guard readUInt64LE(bytes, 8) == UInt64(tableEnd) else {
            throw .malformedFrame("v1 first offset must be \(tableEnd), the end of the offset table")
        }
        var previous = UInt64(tableEnd)
        for index in 1..<offsetCount {
            let value = readUInt64LE(bytes, 8 * (index + 1))
            guard value >= previous else { throw .malformedFrame("v1 offsets decrease at index \(index)") }
            guard value <= UInt64(size) else { throw .malformedFrame("v1 offset \(value) beyond frame of \(size) bytes") }
            previous = value
        }
        guard previous == UInt64(size) else {
            throw .malformedFrame("v1 last offset \(previous) does not match frame length \(size)")
        }

        let channel = try KernelChannel.named(UnsafeBufferPointer(rebasing: bytes[offset(0)..<offset(1)]))
        // Part k spans offsets[k + 1] ..< offsets[k + 2].
        @inline(__always) func part(_ k: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: bytes[offset(k + 1)..<offset(k + 2)])
        }
        if limits.validatesJSON {
            try JSONScanner(part(0)).validateObjectDocument("header")
            try JSONScanner(part(1)).validateObjectDocument("parent_header")
            try JSONScanner(part(2)).validateObjectDocument("metadata")
            try JSONScanner(part(3)).validateObjectDocument("content")
        }
        var buffers: [[UInt8]] = []
        if partCount > 4 {
            buffers.reserveCapacity(partCount - 4)
            for k in 4..<partCount { buffers.append(Array(part(k))) }
        }
        let parts = MessageParts(header: Array(part(0)), parentHeader: Array(part(1)), metadata: Array(part(2)),
                                 content: Array(part(3)), buffers: buffers)
        return ChannelMessage(channel: channel, parts: parts)
    }
}
