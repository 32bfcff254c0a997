import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Gives heap memory that was freed back to the system now and then.
///
/// glibc keeps what a burst allocated (a flood of kernel output, hundreds of WebSocket clients) in its
/// per-thread arenas after it is freed, so the gateway's memory would stay at its high-water mark for good;
/// `malloc_trim` returns the free pages of every arena. Costs a walk of the arenas per interval.
public struct HeapTrimmer: Service {
    /// How often to trim.
    public let interval: Duration

    /// Creates the trimmer.
    /// - Parameter interval: How often to trim. Default 30 s.
    public init(interval: Duration = .seconds(30)) {
        self.interval = interval
    }

    /// Trims every ``interval`` until cancelled or gracefully shut down; returns normally either way (a
    /// service that throws would make its `ServiceGroup` cancel every other service).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                Self.trimNow()
            }
        }
    }

    /// Returns the free pages of every malloc arena to the system (no-op where unsupported).
    /// - Returns: Whether memory was released.
    @discardableResult
    public static func trimNow() -> Bool {
        guard let trim = mallocTrim else { return false }
        return trim(0) == 1
    }

    /// glibc's `malloc_trim` (declared in `malloc.h`, which the Glibc module does not export); nil elsewhere.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
