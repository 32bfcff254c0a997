/// Where and how the ``KernelSpecCatalog`` looks for kernelspecs.
public struct KernelSpecCatalogConfiguration: Sendable {
    /// Ordered search directories; the first one holding a name wins. Each entry is a directory whose
    /// *children* are kernelspec directories (like `…/share/jupyter/kernels`).
    public var searchDirectories: [String]
    /// Kernel names that may be listed and started; `nil` allows all (EG `EG_ALLOWED_KERNELS`).
    public var allowedKernels: Set<String>?
    /// The name reported as `"default"` in `GET /api/kernelspecs`.
    public var defaultKernelName: String
    /// Minimum time between two checks of the directories for changes.
    public var rescanInterval: Duration

    /// Creates a configuration.
    public init(
        searchDirectories: [String],
        allowedKernels: Set<String>? = nil,
        defaultKernelName: String = "python3",
        rescanInterval: Duration = .seconds(2)
    ) {
        self.searchDirectories = searchDirectories
        self.allowedKernels = allowedKernels
        self.defaultKernelName = defaultKernelName
        self.rescanInterval = rescanInterval
    }
}
