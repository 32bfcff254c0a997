/// Errors raised while decoding, verifying or signing Jupyter messages.
public enum ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A ZeroMQ multipart message has no `<IDS|MSG>` delimiter frame.
    case missingDelimiter
    /// A ZeroMQ multipart message has fewer than the five frames that must follow the delimiter.
    case tooFewFrames
    /// The HMAC signature of a message does not match its content.
    case badSignature
    /// The connection info names a signature scheme this implementation does not support.
    case unknownSignatureScheme(String)
    /// A WebSocket message names a channel that is not exposed (e.g. `hb`) or does not exist.
    case unknownChannel(String)
    /// A WebSocket frame's binary layout is invalid (bad counts, offsets, missing parts, wrong frame kind).
    case malformedFrame(String)
    /// A JSON part is not valid JSON or does not have the required shape.
    case invalidJSON(String)
    /// Bytes that must be UTF-8 are not valid UTF-8.
    case invalidUTF8
    /// A WebSocket frame exceeds ``WebSocketCodecLimits/maxFrameSize``; the payload is the frame size in bytes.
    case frameTooLarge(Int)
    /// A WebSocket frame declares more message parts than ``WebSocketCodecLimits/maxParts``; the payload is the declared count.
    case tooManyParts(Int)

    /// A human-readable description of the error.
    public var description: String {
        switch self {
        case .missingDelimiter: "wire message has no <IDS|MSG> delimiter"
        case .tooFewFrames: "wire message has too few frames after the delimiter"
        case .badSignature: "message signature is invalid"
        case .unknownSignatureScheme(let scheme): "unsupported signature scheme '\(scheme)'"
        case .unknownChannel(let channel): "unknown channel '\(channel)'"
        case .malformedFrame(let reason): "malformed WebSocket frame: \(reason)"
        case .invalidJSON(let reason): "invalid JSON: \(reason)"
        case .invalidUTF8: "invalid UTF-8"
        case .frameTooLarge(let size): "WebSocket frame of \(size) bytes exceeds the limit"
        case .tooManyParts(let count): "WebSocket frame declares \(count) parts, more than the limit"
        }
    }
}
