import Foundation
import Logging
import ServiceLifecycle

/// Re-reads the users file when it changes (its modification time, size or inode, looked at every
/// ``pollInterval``): a good file replaces the users at once; a malformed one is logged and the last good one kept.
public struct UsersFileWatcher: Service {
    /// The users file.
    public let path: String
    /// The registry the users go to.
    public let registry: UserRegistry
    /// How often the file's metadata is looked at (a `stat`, nothing read unless it changed).
    public let pollInterval: Duration
    let logger: Logger
    /// The file's version when the watcher was created (the one just loaded): any later change is read.
    let initialStamp: Stamp?

    /// Creates a watcher; create it right after loading the file, so that a change made since is not missed.
    public init(path: String, registry: UserRegistry, pollInterval: Duration = .seconds(2), logger: Logger) {
        self.path = path
        self.registry = registry
        self.pollInterval = pollInterval
        self.logger = logger
        self.initialStamp = Self.stamp(path)
    }

    /// Reads and parses the file once (at start: a failure stops the gateway from starting).
    public static func load(_ path: String) throws(UsersFileError) -> UserDirectory {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw .unreadable("cannot open \(path)") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: UsersFileParser.maxBytes + 1) ?? Data() } catch {
            throw .unreadable("cannot read \(path)")
        }
        return try UsersFileParser.parse(data)
    }

    /// What identifies one version of the file without reading it.
    struct Stamp: Equatable {
        var modified: Date?
        var size: Int?
        var inode: Int?
    }

    static func stamp(_ path: String) -> Stamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return Stamp(modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue,
                     inode: (attributes[.systemFileNumber] as? NSNumber)?.intValue)
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown { try await poll() }
    }

    private func poll() async throws {
        var last = initialStamp
        while !Task.isCancelled {
            do { try await Task.sleep(for: pollInterval) } catch { return }
            let current = Self.stamp(path)
            guard current != last else { continue }
            last = current
            do {
                let users = try Self.load(path)
                registry.replace(users)
                logger.info("users file reloaded", metadata: ["path": "\(path)", "users": "\(users.count)"])
            } catch {
                logger.error("users file refused; the last good one stays in force", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }
}
