/// A user's files, mounted into their kernel pods: the claim their notebook server mounts, at the same path, the
/// kernel starting in the notebook's directory. Comes from the gateway's users entry (written by the controller),
/// never from a client.
public struct KernelWorkspace: Sendable, Equatable {
    /// The PersistentVolumeClaim (in the kernel pod's namespace).
    public var claim: String
    /// Where the notebook server mounts it (and so the kernel does).
    public var mountPath: String
    /// When the claim is ReadWriteOnce: labels of the notebook server's pod, whose node the kernel pod must share.
    public var notebookPodLabels: [String: String]?
    /// The user's directory inside the claim (a `subPath` mount), when the claim holds more than their files.
    public var subPath: String?

    /// Creates a workspace.
    public init(claim: String, mountPath: String, notebookPodLabels: [String: String]? = nil, subPath: String? = nil) {
        self.claim = claim
        self.mountPath = mountPath
        self.notebookPodLabels = notebookPodLabels
        self.subPath = subPath
    }

    /// The directory a kernel starts in: `requested` (jupyter_server's `KERNEL_WORKING_DIR`, the notebook's directory on
    /// the notebook server) when it is a plain absolute path inside ``mountPath``; else the directory of the notebook at
    /// `notebookPath` (relative to the mount, as jupyter_server sends it in `path` when its root is the mount); else
    /// ``mountPath`` itself. Paths with `..`, `.` or control characters are never used.
    public func workingDirectory(notebookPath: String?, requested: String? = nil) -> String {
        if let requested, requested.hasPrefix("/"), let parts = Self.plainParts(requested) {
            let directory = "/" + parts.joined(separator: "/")
            if directory == mountPath || directory.hasPrefix(mountPath + "/") { return directory }
        }
        guard let notebookPath, !notebookPath.hasPrefix("/"), let parts = Self.plainParts(notebookPath) else { return mountPath }
        // A path naming a notebook file starts in its directory; one naming a directory starts there.
        let directory = notebookPath.hasSuffix("/") ? parts : Array(parts.dropLast())
        return directory.isEmpty ? mountPath : mountPath + "/" + directory.joined(separator: "/")
    }

    /// The non-empty segments of a path without `.`, `..` or control characters, at most 4096 bytes; nil otherwise.
    static func plainParts(_ path: String) -> [Substring]? {
        guard !path.isEmpty, path.utf8.count <= 4096,
              path.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        return parts
    }
}
