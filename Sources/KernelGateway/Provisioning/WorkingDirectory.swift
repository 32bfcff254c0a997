import Foundation

/// Resolves a kernel's working directory from the request's notebook `path` (an API path relative to the
/// root, e.g. `work/analysis.ipynb`) or `KERNEL_WORKING_DIR`, confined to the configured root.
public enum WorkingDirectory {
    /// The directory a kernel starts in. A path that escapes the root is refused; a directory that does
    /// not exist falls back to the root (as jupyter_server does).
    /// - Throws: `GatewayError.invalidRequest` if the path leaves the root.
    public static func resolve(notebookPath: String?, kernelWorkingDir: String?, root: String) throws(GatewayError) -> String {
        let rootReal = realPath(root) ?? root
        var candidate: String?
        if let dir = kernelWorkingDir, !dir.isEmpty {
            candidate = dir.hasPrefix("/") ? dir : rootReal + "/" + dir
        } else if let path = notebookPath, !path.isEmpty {
            guard !path.contains("\0") else { throw .invalidRequest("Invalid path") }
            let relative = path.hasPrefix("/") ? String(path.drop(while: { $0 == "/" })) : path
            let full = rootReal + "/" + relative
            // The path names a notebook (a file); its directory is the kernel's working directory,
            // unless the path itself is a directory.
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                candidate = full
            } else {
                candidate = (full as NSString).deletingLastPathComponent
            }
        }
        guard let candidate else { return rootReal }
        let normalized = (candidate as NSString).standardizingPath
        let resolved = realPath(normalized) ?? normalized
        guard resolved == rootReal || resolved.hasPrefix(rootReal.hasSuffix("/") ? rootReal : rootReal + "/") else {
            throw .invalidRequest("The kernel's working directory must be inside the gateway's root directory")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            return rootReal
        }
        return resolved
    }

    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
