#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A file descriptor that wakes a reactor blocked in `zmq_poll`.
///
/// A non-blocking pipe (portable; Glibc's Swift module does not expose `eventfd`, and a reactor
/// needs only one). Any thread may call ``signal()``; only the reactor thread calls ``drain()``.
/// The reactor thread closes it when it stops; a late ``signal()`` is then a no-op, so it can never
/// write into a reused descriptor number.
final class WakeSignal: Sendable {
    /// The descriptor to poll for readability (reactor thread only, until ``close()``).
    let readFD: Int32
    private let writeFD: Int32
    /// False once ``close()`` ran; guards every write so none can hit a reused descriptor number.
    private let isOpen = Mutex(true)

    /// Creates the pipe; throws if the process is out of file descriptors.
    init() throws(ZMQError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ZMQError(code: errno, operation: "pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close()
    }

    /// Makes ``readFD`` readable; does nothing after ``close()``. A full pipe already means
    /// "readable", so `EAGAIN` is fine.
    func signal() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            var one: UInt8 = 1
            while true {
                let written = withUnsafeBytes(of: &one) { write(writeFD, $0.baseAddress, $0.count) }
                if written >= 0 || errno != EINTR { return }
            }
        }
    }

    /// Consumes every pending signal so ``readFD`` is no longer readable (reactor thread only).
    func drain() {
        var buffer: (UInt64, UInt64) = (0, 0)
        while true {
            let count = withUnsafeMutableBytes(of: &buffer) { read(readFD, $0.baseAddress, $0.count) }
            if count == MemoryLayout.size(ofValue: buffer) { continue }
            if count > 0 { return }
            if count < 0 && errno == EINTR { continue }
            return
        }
    }

    /// Closes both ends. Idempotent.
    func close() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            isOpen = false
            _ = systemClose(readFD)
            _ = systemClose(writeFD)
        }
    }
}

/// `close(2)`, reachable from inside a type that has its own `close()`.
private func systemClose(_ fd: Int32) -> Int32 {
    close(fd)
}
