import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why ``FreePorts/allocate(count:host:)`` failed.
public struct FreePortsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed.
    public let message: String
    /// The errno (or `getaddrinfo` code) involved, 0 if none.
    public let code: Int32

    /// The reason.
    public var description: String { "\(message) (\(code))" }
}

/// Picks free TCP ports.
public enum FreePorts {
    /// Ports handed out recently, by when: the kernel that got them may not have bound them yet, so the OS could
    /// hand them out again (parallel starts would then share a port; a SUB socket could even receive another
    /// kernel's messages). Like jupyter_client's port cache, but forgetting after ``reservation``.
    private static let handedOut = Mutex<[Int: ContinuousClock.Instant]>([:])
    /// How long a port handed out is not handed out again (a kernel binds its ports within its launch).
    static let reservation: Duration = .seconds(300)

    /// Picks `count` distinct free TCP ports on `host` (an IPv4/IPv6 literal or resolvable name): binds
    /// sockets to port 0 and reads the assigned ports, skipping ports this process handed out within
    /// ``reservation``, then closes them all.
    public static func allocate(count: Int, host: String = "127.0.0.1") throws -> [Int] {
        guard count >= 0 else { throw FreePortsError(message: "negative count", code: 0) }
        guard count > 0 else { return [] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_PASSIVE
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var info: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, "0", &hints, &info)
        guard status == 0, let first = info else {
            throw FreePortsError(message: "cannot resolve \(host)", code: status)
        }
        defer { freeaddrinfo(info) }
        let family = first.pointee.ai_family
        let socketType = first.pointee.ai_socktype
        let address = first.pointee.ai_addr!
        let addressLength = first.pointee.ai_addrlen

        var descriptors: [Int32] = []
        defer { for descriptor in descriptors { close(descriptor) } }
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts <= count + 200 else { throw FreePortsError(message: "no free port that was not handed out recently", code: 0) }
            let descriptor = socket(family, socketType, 0)
            guard descriptor >= 0 else { throw FreePortsError(message: "socket failed", code: errno) }
            descriptors.append(descriptor)
            guard bind(descriptor, address, addressLength) == 0 else {
                throw FreePortsError(message: "bind to \(host) failed", code: errno)
            }
            var bound = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            guard named == 0 else { throw FreePortsError(message: "getsockname failed", code: errno) }
            // A port skipped here stays bound (in `descriptors`) until the end, so the next bind gets another.
            if reserve(port(of: bound)) { ports.append(port(of: bound)) }
        }
        return ports
    }

    /// Records `port` as handed out now, unless it was handed out within ``reservation`` (then false).
    private static func reserve(_ port: Int) -> Bool {
        let now = ContinuousClock.now
        return handedOut.withLock { handedOut in
            if handedOut.count > 4096 { handedOut = handedOut.filter { now - $0.value < reservation } }
            if let when = handedOut[port], now - when < reservation { return false }
            handedOut[port] = now
            return true
        }
    }

    private static func port(of storage: sockaddr_storage) -> Int {
        var storage = storage
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            } else {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        }
    }
}
