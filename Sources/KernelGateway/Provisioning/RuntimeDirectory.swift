#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The private directory where local kernels' connection files (with their HMAC keys) are written.
///
/// Never a predictable name in a shared `/tmp`: the default is `$XDG_RUNTIME_DIR/elastic-jupyter-<pid>`, else
/// Jupyter's runtime directory (`$JUPYTER_RUNTIME_DIR`, `$JUPYTER_DATA_DIR/runtime` or
/// `~/.local/share/jupyter/runtime`) + `/elastic-jupyter-<pid>`. It is created with mode 0700 and then checked,
/// as jupyter_core's `secure_write` does: a real directory (not a symlink), owned by the gateway's effective
/// user, mode exactly 0700. Anything else, e.g. a directory another user created first, is refused.
public enum RuntimeDirectory {
    /// Why the runtime directory cannot be used. The text is for the operator (start-up error).
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// The default path for this process, from `environment`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let leaf = "elastic-jupyter-\(getpid())"
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let base: String
        if let xdg = nonEmpty("XDG_RUNTIME_DIR") {
            base = xdg
        } else if let runtime = nonEmpty("JUPYTER_RUNTIME_DIR") {
            base = runtime
        } else if let data = nonEmpty("JUPYTER_DATA_DIR") {
            base = (data as NSString).appendingPathComponent("runtime")
        } else {
            let home = nonEmpty("HOME") ?? NSHomeDirectory()
            base = (home as NSString).appendingPathComponent(".local/share/jupyter/runtime")
        }
        return (base as NSString).appendingPathComponent(leaf)
    }

    /// Creates `path` (mode 0700; missing parents too, also 0700) unless it exists, then verifies it.
    /// - Throws: ``Refusal`` when it cannot be created or is not a private directory of this user.
    public static func prepare(_ path: String) throws(Refusal) {
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) {
            do {
                try FileManager.default.createDirectory(
                    atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw Refusal(description: "Cannot create the parent of the runtime directory \(path): \(error.localizedDescription)")
            }
        }
        var created = false
        if mkdir(path, 0o700) == 0 {
            created = true
        } else if errno != EEXIST {
            throw Refusal(description: "Cannot create the runtime directory \(path): \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw Refusal(description: "The runtime directory \(path) is not a directory of its own (a symlink or a file?): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        // mkdir's mode is reduced by the umask; a directory we just made gets exactly 0700.
        if created { fchmod(fd, 0o700) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw Refusal(description: "Cannot inspect the runtime directory \(path): \(String(cString: strerror(errno)))")
        }
        try verify(info, path: path)
    }

    /// The checks on an existing directory's status.
    static func verify(_ info: stat, path: String) throws(Refusal) {
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Refusal(description: "The runtime directory \(path) is not a directory")
        }
        guard info.st_uid == geteuid() else {
            throw Refusal(description: "The runtime directory \(path) belongs to uid \(info.st_uid), not to this gateway's user (uid \(geteuid())); choose another --runtime-dir")
        }
        let mode = info.st_mode & 0o7777
        guard mode == 0o700 else {
            throw Refusal(description: "The runtime directory \(path) has mode \(String(mode, radix: 8)), not 700; fix it (chmod 700) or choose another --runtime-dir")
        }
    }
}
