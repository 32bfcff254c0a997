#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds gateway-originated messages (iopub `status` "restarting"/"dead", `kernel_info_request`,
/// `shutdown_request`, `interrupt_request`, ...).
public enum MessageFactory {
    /// The protocol version written into generated headers.
    public static let protocolVersion = "5.3"

    /// Builds a message.
    ///
    /// The header is `{"msg_id", "msg_type", "username", "session", "date", "version"}` with a random UUID `msg_id`,
    /// the current UTC time in ``JupyterDate`` format and version ``protocolVersion``. The parent header is the
    /// parent's raw header bytes (or `{}`), metadata is `{}`.
    /// - Parameters:
    ///   - msgType: The message type, e.g. `status`.
    ///   - content: The content object.
    ///   - session: The session id for the header.
    ///   - parent: The message this one answers, if any.
    ///   - username: The header's username.
    /// - Returns: The message parts.
    public static func make(msgType: String, content: JSONValue = [:], session: String,
                            parent: MessageParts? = nil, username: String = "elastic-jupyter") -> MessageParts {
        MessageParts(
            header: header(msgID: UUID().uuidString.lowercased(), msgType: msgType, username: username,
                           session: session, date: JupyterDate.now()),
            parentHeader: parent.map { $0.header.isEmpty ? Array("{}".utf8) : $0.header } ?? Array("{}".utf8),
            metadata: Array("{}".utf8),
            content: content.serialized(),
            buffers: []
        )
    }

    /// Builds a message from a content dictionary (see the `JSONValue` overload).
    public static func make(msgType: String, content: [String: JSONValue], session: String,
                            parent: MessageParts? = nil, username: String = "elastic-jupyter") -> MessageParts {
        make(msgType: msgType, content: .object(content), session: session, parent: parent, username: username)
    }

    /// An iopub `status` message with the given `execution_state` (e.g. `restarting`, `dead`, `busy`, `idle`).
    public static func status(_ executionState: String, session: String, parent: MessageParts? = nil,
                              username: String = "elastic-jupyter") -> MessageParts {
        make(msgType: "status", content: ["execution_state": .string(executionState)], session: session,
             parent: parent, username: username)
    }

    /// The header JSON bytes, keys in the order jupyter_client writes them.
    public static func header(msgID: String, msgType: String, username: String, session: String, date: String,
                              version: String = protocolVersion) -> [UInt8] {
        HeaderEncoding(msgID: msgID, msgType: msgType, username: username, session: session, date: date,
                       version: version).makeBytes()
    }

    private struct HeaderEncoding: ByteEncoding {
        let msgID: String
        let msgType: String
        let username: String
        let session: String
        let date: String
        let version: String

        func write<Sink: ByteSink>(to sink: inout Sink) {
            sink.append("{\"msg_id\": ")
            JSONStringEscaping.write(msgID, to: &sink)
            sink.append(", \"msg_type\": ")
            JSONStringEscaping.write(msgType, to: &sink)
            sink.append(", \"username\": ")
            JSONStringEscaping.write(username, to: &sink)
            sink.append(", \"session\": ")
            JSONStringEscaping.write(session, to: &sink)
            sink.append(", \"date\": ")
            JSONStringEscaping.write(date, to: &sink)
            sink.append(", \"version\": ")
            JSONStringEscaping.write(version, to: &sink)
            sink.append("}")
        }
    }
}
