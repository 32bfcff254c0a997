/// What counts as use of a kernel. Idle means nobody is using it: user-driven requests and the output
/// they cause move `last_activity`; housekeeping does not (a `kernel_info_request` on (re)connect, the
/// gateway's own probes and heartbeats, periodic polling such as jupyter-resource-usage's
/// `usage_request`, and their replies). The README lists these sets verbatim.
public enum ActivityModel {
    /// Client → kernel message types that are use of the kernel.
    public static let userDrivenRequests: Set<String> = [
        "execute_request", "complete_request", "inspect_request", "history_request", "is_complete_request",
        "comm_open", "comm_msg", "comm_close", "input_reply", "debug_request", "interrupt_request",
    ]

    /// Whether a message a client sends counts as activity.
    public static func isActivity(clientMessageType msgType: String?) -> Bool {
        guard let msgType else { return false }
        return userDrivenRequests.contains(msgType)
    }

    /// Whether a message from the kernel counts as activity: output (any channel) whose parent is a
    /// user-driven request. Messages without such a parent (e.g. the kernel's own `starting` status,
    /// replies to `kernel_info_request` / `usage_request`) do not.
    public static func isActivity(kernelMessageParentType parentType: String?) -> Bool {
        guard let parentType else { return false }
        return userDrivenRequests.contains(parentType)
    }
}
