/// What the gateway needs to know about a message without decoding it fully.
///
/// Built by a byte scan of the raw JSON parts: only top-level keys of `header`, `parent_header` and (for `status`
/// messages) `content` are looked at; nested values are skipped without being materialised. Duplicate keys resolve
/// to the last occurrence (as Python's `json` does). Missing or non-string values, or unparsable parts, give `nil`.
public struct MessagePeek: Sendable, Equatable {
    /// `header.msg_type`.
    public var msgType: String?
    /// `header.msg_id`.
    public var msgID: String?
    /// `header.session`.
    public var session: String?
    /// `parent_header.msg_id`.
    public var parentMsgID: String?
    /// `parent_header.session`.
    public var parentSession: String?
    /// `content.execution_state`, only computed when ``msgType`` is `"status"`.
    public var executionState: String?

    /// Creates a peek result with the given fields.
    public init(msgType: String? = nil, msgID: String? = nil, session: String? = nil,
                parentMsgID: String? = nil, parentSession: String? = nil, executionState: String? = nil) {
        self.msgType = msgType
        self.msgID = msgID
        self.session = session
        self.parentMsgID = parentMsgID
        self.parentSession = parentSession
        self.executionState = executionState
    }

    /// Scans a message's JSON parts for the routing fields.
    /// - Parameter parts: The message.
    /// - Returns: The fields found; absent ones are `nil`.
    public static func peek(_ parts: MessageParts) -> MessagePeek {
        var result = MessagePeek()
        parts.header.withUnsafeBufferPointer { bytes in
            let scanner = JSONScanner(bytes)
            _ = try? scanner.forEachMember(0) { member in
                if scanner.key(of: member, is: "msg_type") {
                    result.msgType = scanner.stringValue(of: member)
                } else if scanner.key(of: member, is: "msg_id") {
                    result.msgID = scanner.stringValue(of: member)
                } else if scanner.key(of: member, is: "session") {
                    result.session = scanner.stringValue(of: member)
                }
            }
        }
        parts.parentHeader.withUnsafeBufferPointer { bytes in
            let scanner = JSONScanner(bytes)
            _ = try? scanner.forEachMember(0) { member in
                if scanner.key(of: member, is: "msg_id") {
                    result.parentMsgID = scanner.stringValue(of: member)
                } else if scanner.key(of: member, is: "session") {
                    result.parentSession = scanner.stringValue(of: member)
                }
            }
        }
        if result.msgType == "status" {
            result.executionState = topLevelString("execution_state", in: parts.content)
        }
        return result
    }

    /// The string value of a top-level key of a JSON object, found by a byte scan.
    /// - Parameters:
    ///   - key: The key to look for (escaped keys in the JSON are decoded before comparison).
    ///   - json: The raw JSON object bytes.
    /// - Returns: The unescaped string of the last occurrence of `key`, or `nil` if absent, not a string, or unparsable.
    public static func topLevelString(_ key: String, in json: [UInt8]) -> String? {
        var key = key
        return key.withUTF8 { keyBytes in
            json.withUnsafeBufferPointer { bytes in
                let scanner = JSONScanner(bytes)
                var found: String?
                _ = try? scanner.forEachMember(0) { member in
                    let matches: Bool
                    if member.keyEscaped {
                        matches = scanner.decodeString(member.keyStart, member.keyEnd, escaped: true).utf8
                            .elementsEqual(keyBytes)
                    } else {
                        matches = member.keyEnd - member.keyStart == keyBytes.count
                            && UnsafeBufferPointer(rebasing: bytes[member.keyStart..<member.keyEnd]).elementsEqual(keyBytes)
                    }
                    if matches { found = scanner.stringValue(of: member) }
                }
                return found
            }
        }
    }
}
