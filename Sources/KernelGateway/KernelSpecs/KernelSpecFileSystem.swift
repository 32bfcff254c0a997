#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Small POSIX helpers used by the kernelspec catalog.
enum KernelSpecFileSystem {
    /// Identity and change stamp of a file system object (symlinks followed).
    struct Stamp: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
        var ctimeSeconds: Int
        var ctimeNanoseconds: Int
        var isDirectory: Bool
        var isRegularFile: Bool
    }

    /// `stat(2)` of `path` following symlinks; nil if it does not exist.
    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let mtime = info.st_mtimespec, ctime = info.st_ctimespec
        #else
        let mtime = info.st_mtim, ctime = info.st_ctim
        #endif
        let type = info.st_mode & S_IFMT
        return Stamp(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            mtimeSeconds: Int(mtime.tv_sec), mtimeNanoseconds: Int(mtime.tv_nsec),
            ctimeSeconds: Int(ctime.tv_sec), ctimeNanoseconds: Int(ctime.tv_nsec),
            isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG
        )
    }

    static func isDirectory(_ path: String) -> Bool { stamp(path)?.isDirectory ?? false }

    static func isRegularFile(_ path: String) -> Bool { stamp(path)?.isRegularFile ?? false }

    /// `realpath(3)`; nil when the path (or a symlink in it) does not resolve.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Entry names of a directory, sorted; nil if it cannot be listed.
    static func list(_ path: String) -> [String]? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        return names.sorted()
    }

    /// `path` made absolute (against the current directory), with `.` and repeated `/` removed
    /// (`..` is kept: it is resolved by the file system, through symlinks).
    static func absolute(_ path: String) -> String {
        var full = path
        if !full.hasPrefix("/") {
            full = FileManager.default.currentDirectoryPath + "/" + full
        }
        var parts: [Substring] = []
        for part in full.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `true` if `path` equals `root` or lies below it (both already resolved).
    static func isInside(_ path: String, root: String) -> Bool {
        if root == "/" { return path.hasPrefix("/") }
        return path == root || path.hasPrefix(root + "/")
    }
}
