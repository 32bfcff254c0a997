/// The four JSON frames of a Jupyter message, kept as raw bytes (never re-encoded on the hot path), plus raw buffers.
///
/// The JSON parts are stored exactly as they were received (from a kernel or a client), so relaying a message
/// never parses and re-serializes it. Use ``MessagePeek`` to read the few header fields the gateway needs.
public struct MessageParts: Sendable, Equatable {
    /// The UTF-8 JSON object of the message header (`msg_id`, `msg_type`, `session`, ...).
    public var header: [UInt8]
    /// The UTF-8 JSON object of the parent header (`{}` when there is no parent).
    public var parentHeader: [UInt8]
    /// The UTF-8 JSON object of the message metadata.
    public var metadata: [UInt8]
    /// The UTF-8 JSON object of the message content.
    public var content: [UInt8]
    /// Raw binary buffers that follow the JSON parts (not signed, not JSON).
    public var buffers: [[UInt8]]

    /// Creates message parts from raw JSON bytes and buffers.
    /// - Parameters:
    ///   - header: The header JSON object bytes.
    ///   - parentHeader: The parent header JSON object bytes (use `{}` for none).
    ///   - metadata: The metadata JSON object bytes.
    ///   - content: The content JSON object bytes.
    ///   - buffers: Raw binary buffers.
    public init(header: [UInt8], parentHeader: [UInt8], metadata: [UInt8], content: [UInt8], buffers: [[UInt8]] = []) {
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
    }
}

/// The channels a client may use over the WebSocket.
///
/// The heartbeat channel (`hb`) is deliberately absent: it is never exposed over the WebSocket.
public enum KernelChannel: String, Sendable, CaseIterable {
    /// Requests and replies (execute, complete, inspect, ...).
    case shell
    /// High-priority requests (interrupt, shutdown, debug).
    case control
    /// Input requests from the kernel to the client.
    case stdin
    /// Broadcast output and status from the kernel.
    case iopub
}

/// A message with its channel, as carried over the WebSocket.
public struct ChannelMessage: Sendable, Equatable {
    /// The channel the message travels on.
    public var channel: KernelChannel
    /// The raw message parts.
    public var parts: MessageParts

    /// Creates a message bound to a channel.
    /// - Parameters:
    ///   - channel: The channel the message travels on.
    ///   - parts: The raw message parts.
    public init(channel: KernelChannel, parts: MessageParts) {
        self.channel = channel
        self.parts = parts
    }
}
