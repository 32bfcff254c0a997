/// Converts between WebSocket frames and channel messages, for both WebSocket encodings.
public enum WebSocketCodec {
    /// Decodes a client -> gateway frame.
    ///
    /// - Legacy text: a JSON dict `{header, parent_header, metadata, content, channel, buffers}`; a missing or null
    ///   channel means `shell`; the header bytes are kept verbatim; missing/null `parent_header`, `metadata` and
    ///   `content` become `{}`; `buffers` must be absent or empty.
    /// - Legacy binary: `u32be count, u32be offsets, JSON dict, buffers`.
    /// - v1: the binary layout of PROTOCOL.md 2.3; a text frame is an error.
    ///
    /// Declared counts and offsets are checked against the real frame size before anything is allocated.
    /// - Parameters:
    ///   - frame: The frame as received.
    ///   - protocol: The negotiated encoding.
    ///   - limits: Size bounds.
    /// - Returns: The message and its channel.
    /// - Throws: ``ProtocolError/unknownChannel(_:)``, ``ProtocolError/malformedFrame(_:)``,
    ///   ``ProtocolError/invalidJSON(_:)``, ``ProtocolError/invalidUTF8``, ``ProtocolError/frameTooLarge(_:)``,
    ///   ``ProtocolError/tooManyParts(_:)``.
    public static func decode(_ frame: WebSocketFrame, protocol: WebSocketProtocol,
                              limits: WebSocketCodecLimits = .init()) throws(ProtocolError) -> ChannelMessage {
        switch (`protocol`, frame) {
        case (.v1, .binary(let bytes)):
            return try V1FrameCodec.decode(bytes, limits: limits)
        case (.v1, .text):
            throw .malformedFrame("text frames are not allowed with \(WebSocketProtocol.v1Name)")
        case (.legacy, .text(let text)):
            return try LegacyFrameCodec.decodeText(text, limits: limits)
        case (.legacy, .binary(let bytes)):
            return try LegacyFrameCodec.decodeBinary(bytes, limits: limits)
        }
    }

    /// Encodes a gateway -> client frame by splicing the raw parts (nothing is re-serialized).
    ///
    /// - Legacy without buffers: a text frame with the dict
    ///   `{header, msg_id, msg_type, parent_header, metadata, content, buffers: [], channel}`
    ///   (`msg_id`/`msg_type` copied from the header; `null` if absent).
    /// - Legacy with buffers: a legacy binary frame (the same dict without `buffers`).
    /// - v1: a binary frame per PROTOCOL.md 2.3.
    /// - Parameters:
    ///   - message: The message and its channel.
    ///   - protocol: The negotiated encoding.
    /// - Returns: The frame to send.
    public static func encode(_ message: ChannelMessage, protocol: WebSocketProtocol) -> WebSocketFrame {
        switch `protocol` {
        case .v1: .binary(V1FrameCodec.encode(message))
        case .legacy: LegacyFrameCodec.encode(message)
        }
    }
}
