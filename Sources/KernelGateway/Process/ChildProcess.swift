#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started in its own process group and reaped by a dedicated waiter thread.
public final class ChildProcess: Sendable {
    private struct Waiter: Sendable {
        var continuation: CheckedContinuation<ChildProcessExit?, Never>
        var timer: Task<Void, Never>?
    }

    private struct WaitState: Sendable {
        var exit: ChildProcessExit?
        /// Set (under the lock) just before `waitpid` reaps the process: from then on its id, and so its group
        /// id, may belong to someone else, and ``signalGroup(_:)`` does nothing.
        var reaped = false
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    /// Process id; also the process group id.
    public let pid: Int32
    private let state = Mutex(WaitState())

    init(pid: Int32) {
        self.pid = pid
    }

    /// `true` once the process has exited and been reaped.
    public var hasExited: Bool { state.withLock { $0.exit != nil } }

    /// The exit description once the process has exited, else nil.
    public var exitStatus: ChildProcessExit? { state.withLock { $0.exit } }

    /// Sends `signal` to the whole process group (`kill(-pid, signal)`); a vanished group is ignored. Once the
    /// process was reaped nothing is sent: a new, unrelated group may have that id by then.
    public func signalGroup(_ signal: Int32) {
        // Under the lock: the reaper cannot reap (and free the id) while the signal is being sent.
        state.withLock { state in
            guard !state.reaped else { return }
            _ = kill(-pid, signal)
        }
    }

    /// Whether the process has been reaped, so its group is never signalled again.
    public var isReaped: Bool { state.withLock { $0.reaped } }

    /// Suspends until the process exits and returns how it ended. Any number of concurrent callers may wait.
    /// Not cancellable: use ``waitForExit(timeout:)`` for a bounded wait.
    public func waitForExit() async -> ChildProcessExit {
        // Without a timeout or cancellation the waiter is only ever resumed with the exit.
        await wait(timeout: nil, cancellable: false) ?? .exited(-1)
    }

    /// Like ``waitForExit()`` but returns nil if the process is still running after `timeout`
    /// (or when the calling task is cancelled).
    public func waitForExit(timeout: Duration) async -> ChildProcessExit? {
        await wait(timeout: timeout, cancellable: true)
    }

    /// Starts the thread that blocks in `waitpid` for this process.
    func startReaper() {
        let thread = Thread { [self] in
            var status: Int32 = 0
            var exit = ChildProcessExit.exited(-1)
            // Wait for the exit without reaping: while the zombie exists its id cannot be reused, so what the
            // kernel started in its group is killed now, safely; after the reap the group is never signalled.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
            state.withLock { state in
                _ = kill(-pid, SIGKILL)
                state.reaped = true
            }
            while true {
                let result = waitpid(pid, &status, 0)
                if result == pid { exit = ChildProcessExit(waitStatus: status); break }
                if result == -1 && errno == EINTR { continue }
                break  // ECHILD: reaped elsewhere, status lost
            }
            finish(exit)
        }
        thread.name = "reaper-\(pid)"
        thread.stackSize = 256 * 1024
        thread.start()
    }

    private func finish(_ exit: ChildProcessExit) {
        let waiters = state.withLock { state in
            state.exit = exit
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiters
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: exit)
        }
    }

    private func expire(_ id: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(returning: nil)
    }

    private func wait(timeout: Duration?, cancellable: Bool) async -> ChildProcessExit? {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        guard cancellable else { return await suspend(id: id, timeout: timeout, cancellable: false) }
        return await withTaskCancellationHandler {
            await suspend(id: id, timeout: timeout, cancellable: true)
        } onCancel: {
            expire(id)
        }
    }

    private func suspend(id: UInt64, timeout: Duration?, cancellable: Bool) async -> ChildProcessExit? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ChildProcessExit?, Never>) in
            let immediate: ChildProcessExit?? = state.withLock { state in
                if let exit = state.exit { return .some(exit) }
                if cancellable && Task.isCancelled { return .some(nil) }
                state.waiters[id] = Waiter(continuation: continuation, timer: nil)
                return .none
            }
            if let immediate {
                continuation.resume(returning: immediate)
                return
            }
            guard let timeout else { return }
            let timer = Task { [self] in
                do { try await Task.sleep(for: timeout) } catch { return }
                expire(id)
            }
            let attached = state.withLock { state in
                guard state.waiters[id] != nil else { return false }
                state.waiters[id]?.timer = timer
                return true
            }
            if !attached { timer.cancel() }
        }
    }
}
