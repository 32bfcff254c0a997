/// A kernel's execution state as a metric label. The state comes from the kernel's own `status` messages, so
/// anything a kernel says beyond the states Jupyter defines counts as `other`: a kernel cannot add label values.
public enum KernelStateLabel {
    /// The label values.
    public static let values: Set<String> = ["starting", "idle", "busy", "restarting", "terminating", "dead", "other"]

    /// The label of an execution state.
    public static func label(_ executionState: String) -> String {
        values.contains(executionState) ? executionState : "other"
    }
}
