import Foundation

/// Resolves a kernel's working directory from the request's notebook `path` (an API path relative to the
/// root, e.g. `work/analysis.ipynb`) or `KERNEL_WORKING_DIR`, confined to the configured root.
public enum WorkingDirectory {
    /// The directory a kernel starts in. A notebook `path` that escapes the root is refused; a directory
    /// that does not exist falls back to the root (as jupyter_server does). `KERNEL_WORKING_DIR` is what
    /// jupyter_server sends as the notebook's absolute directory on *its* machine: used when it lies inside
    /// the root (a shared file system), otherwise ignored in favour of the root.
    /// - Throws: `GatewayError.invalidRequest` if the notebook path leaves the root.
    public static func resolve(notebookPath: String?, kernelWorkingDir: String?, root: String) throws(GatewayError) -> String {
        let rootReal = realPath(root) ?? root
        var candidate: String?
        if let path = notebookPath, !path.isEmpty {
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
        if candidate == nil, let dir = kernelWorkingDir, !dir.isEmpty, !dir.contains("\0") {
            let absolute = dir.hasPrefix("/") ? dir : rootReal + "/" + dir
            let resolved = realPath((absolute as NSString).standardizingPath) ?? absolute
            return isInside(resolved, root: rootReal) && isDirectory(resolved) ? resolved : rootReal
        }
        guard let candidate else { return rootReal }
        let normalized = (candidate as NSString).standardizingPath
        let resolved = realPath(normalized) ?? normalized
        guard isInside(resolved, root: rootReal) else {
            throw .invalidRequest("The kernel's working directory must be inside the gateway's root directory")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
            return rootReal
        }
        return resolved
    }

    static func isInside(_ path: String, root: String) -> Bool {
        path == root || path.hasPrefix(root.hasSuffix("/") ? root : root + "/")
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
