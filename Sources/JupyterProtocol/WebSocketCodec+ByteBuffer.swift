import NIOCore

/// A WebSocket data frame whose binary payload lives in a `ByteBuffer` (what NIO-based servers send and receive).
public enum WebSocketBufferFrame: Sendable, Equatable {
    /// A text frame.
    case text(String)
    /// A binary frame.
    case binary(ByteBuffer)
}

extension WebSocketCodec {
    /// Decodes a client -> gateway binary frame straight from a `ByteBuffer`'s readable bytes (no intermediate copy).
    ///
    /// Same rules and errors as ``decode(_:protocol:limits:)`` with a `.binary` frame.
    /// - Parameters:
    ///   - buffer: The frame payload (the reader index is not moved).
    ///   - protocol: The negotiated encoding.
    ///   - limits: Size bounds.
    public static func decode(binary buffer: ByteBuffer, protocol: WebSocketProtocol,
                              limits: WebSocketCodecLimits = .init()) throws(ProtocolError) -> ChannelMessage {
        guard buffer.readableBytes <= limits.maxFrameSize else { throw .frameTooLarge(buffer.readableBytes) }
        let result = buffer.withUnsafeReadableBytes { raw in
            Result { () throws(ProtocolError) -> ChannelMessage in
                let bytes = raw.assumingMemoryBound(to: UInt8.self)
                switch `protocol` {
                case .v1: return try V1FrameCodec.decode(bytes, limits: limits)
                case .legacy: return try LegacyFrameCodec.decodeBinary(bytes, limits: limits)
                }
            }
        }
        return try result.get()
    }

    /// Encodes a gateway -> client frame, writing binary frames directly into one `ByteBuffer` of the exact size.
    ///
    /// Same output as ``encode(_:protocol:)``.
    /// - Parameters:
    ///   - message: The message and its channel.
    ///   - protocol: The negotiated encoding.
    ///   - allocator: The allocator for binary payloads.
    public static func encode(_ message: ChannelMessage, protocol: WebSocketProtocol,
                              allocator: ByteBufferAllocator) -> WebSocketBufferFrame {
        switch `protocol` {
        case .v1:
            return .binary(V1FrameCodec.Encoding(message: message).makeByteBuffer(allocator: allocator))
        case .legacy:
            if message.parts.buffers.isEmpty {
                return .text(LegacyFrameCodec.DictEncoding(message: message, includesEmptyBuffers: true).makeString())
            }
            let dict = LegacyFrameCodec.DictEncoding(message: message, includesEmptyBuffers: false)
            return .binary(LegacyFrameCodec.BinaryEncoding(dict: dict).makeByteBuffer(allocator: allocator))
        }
    }
}

extension ByteEncoding {
    /// The encoded bytes in a `ByteBuffer` allocated once with the exact size.
    func makeByteBuffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        var counter = ByteCounter()
        write(to: &counter)
        let size = counter.count
        var buffer = allocator.buffer(capacity: size)
        guard size > 0 else { return buffer }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var writer = ByteWriter(UnsafeMutableBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[0..<size]))
            write(to: &writer)
            return writer.count
        }
        return buffer
    }
}
