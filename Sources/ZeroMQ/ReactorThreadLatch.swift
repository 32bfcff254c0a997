import Foundation

/// Records which OS thread runs a reactor loop and lets other threads wait for it to end.
final class ReactorThreadLatch: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var thread: ObjectIdentifier?
    private var finished = false

    /// Called first thing on the reactor thread.
    func markStarted() {
        condition.lock()
        thread = ObjectIdentifier(Thread.current)
        condition.unlock()
    }

    /// Called last thing on the reactor thread.
    func markFinished() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the caller is running on the reactor thread (e.g. inside a message handler).
    var isReactorThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !finished && thread == ObjectIdentifier(Thread.current)
    }

    /// Blocks until ``markFinished()`` has been called.
    func waitUntilFinished() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
