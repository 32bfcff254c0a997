extension KernelSpecCatalog {
    /// Absolute (resolved) path of the resource `file` of the allowed kernelspec `kernel`, or nil.
    ///
    /// `file` is relative to the kernelspec directory and may name a subdirectory (`a/b.png`). Rejected:
    /// empty names, absolute paths, NUL bytes, empty / `.` / `..` / hidden (`.`-prefixed) components,
    /// anything that resolves (through symlinks) outside the kernelspec directory, and non-regular files.
    public func resourcePath(kernel: String, file: String) -> String? {
        guard let spec = spec(named: kernel) else { return nil }
        return Self.containedRegularFile(directory: spec.resourceDirectory, relativePath: file)
    }

    /// Top-level resource file names of a kernelspec directory (everything `resourcePath` would serve,
    /// except `kernel.json`), sorted.
    static func resourceFiles(in directory: String) -> [String] {
        (KernelSpecFileSystem.list(directory) ?? []).filter { name in
            name != "kernel.json" && containedRegularFile(directory: directory, relativePath: name) != nil
        }
    }

    static func containedRegularFile(directory: String, relativePath: String) -> String? {
        guard !relativePath.isEmpty, !relativePath.hasPrefix("/"), !relativePath.contains("\0") else { return nil }
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: false)
        guard components.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }) else { return nil }
        guard let root = KernelSpecFileSystem.realPath(directory),
              let resolved = KernelSpecFileSystem.realPath(directory + "/" + relativePath),
              resolved != root,
              KernelSpecFileSystem.isInside(resolved, root: root),
              KernelSpecFileSystem.isRegularFile(resolved) else { return nil }
        return resolved
    }
}
