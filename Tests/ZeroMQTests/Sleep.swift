#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocks the calling thread (used to simulate a slow handler on a reactor thread).
func usleepMilliseconds(_ milliseconds: UInt32) {
    usleep(milliseconds * 1_000)
}
