#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Names the calling OS thread (visible in `top -H`, `ps -L`, debuggers), best effort.
///
/// Linux: writes `/proc/thread-self/comm` (Glibc's Swift module does not expose
/// `pthread_setname_np`, and Foundation's `Thread.name` does not reliably reach the OS).
/// Names longer than 15 bytes are cut at a character boundary.
func nameCurrentThread(_ name: String) {
    var short = ""
    for character in name {
        if short.utf8.count + character.utf8.count > 15 { break }
        short.append(character)
    }
    #if os(Linux)
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = short.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    #elseif canImport(Darwin)
    _ = pthread_setname_np(short)
    #endif
}
