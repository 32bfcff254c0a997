/// A WebSocket data frame as it comes from or goes to the socket.
public enum WebSocketFrame: Sendable, Equatable {
    /// A text frame (always valid UTF-8).
    case text(String)
    /// A binary frame.
    case binary([UInt8])
}

/// The encoding used on a kernel channels WebSocket.
public enum WebSocketProtocol: Sendable, Equatable {
    /// No subprotocol: JSON text frames, or the legacy binary layout when a message has buffers.
    case legacy
    /// The `v1.kernel.websocket.jupyter.org` binary protocol.
    case v1

    /// The subprotocol name of ``v1``.
    public static let v1Name = "v1.kernel.websocket.jupyter.org"

    /// Picks the protocol from the client's `Sec-WebSocket-Protocol` offers; ``v1`` only if offered.
    /// - Parameter offered: The header values; each may hold several comma-separated names.
    /// - Returns: ``v1`` if the client offered ``v1Name``, else ``legacy``.
    public static func negotiate(offered: [String]) -> WebSocketProtocol {
        for value in offered {
            for name in value.split(separator: ",") where name.trimmingASCIIWhitespace() == v1Name {
                return .v1
            }
        }
        return .legacy
    }

    /// The subprotocol name to echo in the handshake response (`nil` for ``legacy``).
    public var subprotocolName: String? {
        switch self {
        case .legacy: nil
        case .v1: Self.v1Name
        }
    }
}

/// Bounds applied when decoding client frames, checked before anything is allocated.
public struct WebSocketCodecLimits: Sendable {
    /// Most message parts (4 JSON parts plus buffers) a frame may declare.
    public var maxParts: Int
    /// Largest frame accepted, in bytes.
    public var maxFrameSize: Int
    /// Whether v1 frames' four JSON parts are validated as JSON objects (the legacy encodings are always parsed).
    public var validatesJSON: Bool

    /// Creates limits.
    /// - Parameters:
    ///   - maxParts: Most message parts (4 JSON parts plus buffers) per frame.
    ///   - maxFrameSize: Largest frame in bytes.
    ///   - validatesJSON: Whether v1 JSON parts are validated.
    public init(maxParts: Int = 1024, maxFrameSize: Int = 128 << 20, validatesJSON: Bool = true) {
        self.maxParts = maxParts
        self.maxFrameSize = maxFrameSize
        self.validatesJSON = validatesJSON
    }
}

extension Substring {
    func trimmingASCIIWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
