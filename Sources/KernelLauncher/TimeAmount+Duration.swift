import NIOCore

extension TimeAmount {
    /// The NIO amount of a Swift `Duration` (nanosecond precision).
    init(_ duration: Duration) {
        self = .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
