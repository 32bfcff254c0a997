/// Where a session's client stopped receiving a kernel's iopub when its replica stopped: the last message handed
/// out and that message's header date, so a replica that never kept the message (it started keeping later, or the
/// message aged out) still knows which of its kept messages follow it.
public struct IopubCursor: Sendable, Codable, Equatable {
    /// `header.msg_id` of the last message handed out.
    public var msgID: String
    /// `header.date` of that message, as the kernel wrote it.
    public var date: String?

    /// Creates a cursor.
    public init(msgID: String, date: String?) {
        self.msgID = msgID
        self.date = date
    }

    enum CodingKeys: String, CodingKey {
        case msgID = "msg_id"
        case date
    }

    /// Whether the cursor's fields are of a size a replica records (hostile annotations are ignored).
    var isWithinBounds: Bool { msgID.utf8.count <= 256 && (date?.utf8.count ?? 0) <= 64 }
}
