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

    /// Creates a workspace.
    public init(claim: String, mountPath: String, notebookPodLabels: [String: String]? = nil) {
        self.claim = claim
        self.mountPath = mountPath
        self.notebookPodLabels = notebookPodLabels
    }

    /// The directory a kernel for the notebook at `notebookPath` (relative to the mount, as jupyter_server sends
    /// it in `path`) starts in: the notebook's directory under ``mountPath``, or ``mountPath`` itself when the
    /// path is absent or not a plain relative path (`..`, absolute, control characters).
    public func workingDirectory(notebookPath: String?) -> String {
        guard let notebookPath, !notebookPath.isEmpty, notebookPath.utf8.count <= 4096, !notebookPath.hasPrefix("/"),
              notebookPath.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else { return mountPath }
        let parts = notebookPath.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else { return mountPath }
        // A path naming a notebook file starts in its directory; one naming a directory starts there.
        let directory = notebookPath.hasSuffix("/") ? parts : parts.dropLast()
        return directory.isEmpty ? mountPath : mountPath + "/" + directory.joined(separator: "/")
    }
}
