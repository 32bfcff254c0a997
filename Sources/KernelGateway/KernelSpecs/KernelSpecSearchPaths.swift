extension KernelSpecCatalog {
    /// The documented discovery order (first wins on a name clash). Every entry is a directory
    /// whose *children* are kernelspec directories:
    /// 1. `explicit` (`--kernelspecs-dir`), each used as-is;
    /// 2. each `JUPYTER_PATH` entry + `/kernels`;
    /// 3. the kernelspecs shipped with the product: `<dir of executable>/../share/elastic-jupyter/kernelspecs`
    ///    if it exists, else the repository's `kernelspecs/` when run from a checkout (the first ancestor of the
    ///    executable holding both `Package.swift` and `kernelspecs/`);
    /// 4. the Jupyter user data dir: `$JUPYTER_DATA_DIR/kernels`, else `$XDG_DATA_HOME/jupyter/kernels`,
    ///    else `$HOME/.local/share/jupyter/kernels`;
    /// 5. `/usr/local/share/jupyter/kernels`, `/usr/share/jupyter/kernels`.
    ///
    /// Paths are made absolute; duplicates are dropped (first occurrence kept). Only step 3 looks at the disk.
    public static func defaultSearchDirectories(
        explicit: [String],
        environment: [String: String],
        executablePath: String
    ) -> [String] {
        var directories = explicit
        for entry in (environment["JUPYTER_PATH"] ?? "").split(separator: ":") where !entry.isEmpty {
            directories.append(String(entry) + "/kernels")
        }
        if let shipped = shippedKernelSpecsDirectory(executablePath: executablePath) {
            directories.append(shipped)
        }
        if let dataDir = environment["JUPYTER_DATA_DIR"], !dataDir.isEmpty {
            directories.append(dataDir + "/kernels")
        } else if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            directories.append(xdg + "/jupyter/kernels")
        } else if let home = environment["HOME"], !home.isEmpty {
            directories.append(home + "/.local/share/jupyter/kernels")
        }
        directories.append("/usr/local/share/jupyter/kernels")
        directories.append("/usr/share/jupyter/kernels")

        var seen: Set<String> = []
        var result: [String] = []
        for directory in directories where !directory.isEmpty {
            let absolute = KernelSpecFileSystem.absolute(directory)
            if seen.insert(absolute).inserted { result.append(absolute) }
        }
        return result
    }

    /// The product's own `kernelspecs/` folder (installed layout first, then a source checkout), or nil.
    static func shippedKernelSpecsDirectory(executablePath: String) -> String? {
        guard !executablePath.isEmpty else { return nil }
        var candidates: [String] = []
        if let real = KernelSpecFileSystem.realPath(executablePath) { candidates.append(real) }
        let absolute = KernelSpecFileSystem.absolute(executablePath)
        if !candidates.contains(absolute) { candidates.append(absolute) }

        for executable in candidates {
            let installed = parent(of: executable) + "/../share/elastic-jupyter/kernelspecs"
            if KernelSpecFileSystem.isDirectory(installed) {
                return KernelSpecFileSystem.realPath(installed) ?? installed
            }
        }
        for executable in candidates {
            var directory = parent(of: executable)
            while true {
                let kernelspecs = (directory == "/" ? "" : directory) + "/kernelspecs"
                let manifest = (directory == "/" ? "" : directory) + "/Package.swift"
                if KernelSpecFileSystem.isRegularFile(manifest) && KernelSpecFileSystem.isDirectory(kernelspecs) {
                    return kernelspecs
                }
                if directory == "/" { break }
                directory = parent(of: directory)
            }
        }
        return nil
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = String(path[..<slash])
        return head.isEmpty ? "/" : head
    }
}
