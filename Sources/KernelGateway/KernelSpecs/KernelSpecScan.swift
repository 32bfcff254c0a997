/// A cheap snapshot of the search directories used to notice changes: for every kernelspec candidate the
/// resolved path and stat stamps of its directory and `kernel.json` (so a ConfigMap `..data` symlink swap,
/// an edit, an added file or an added directory all change it).
struct KernelSpecScan: Equatable, Sendable {
    struct Candidate: Equatable, Sendable {
        var entryName: String
        var path: String
        var resolvedPath: String?
        var directoryStamp: KernelSpecFileSystem.Stamp?
        var kernelJSONResolvedPath: String?
        var kernelJSONStamp: KernelSpecFileSystem.Stamp?
    }

    struct SearchDirectory: Equatable, Sendable {
        var path: String
        var resolvedPath: String?
        var stamp: KernelSpecFileSystem.Stamp?
        var candidates: [Candidate]
    }

    var directories: [SearchDirectory]

    /// Takes a snapshot of `searchDirectories` (missing directories are recorded as such).
    static func take(_ searchDirectories: [String]) -> KernelSpecScan {
        KernelSpecScan(directories: searchDirectories.map { directory in
            let root = KernelSpecFileSystem.absolute(directory)
            let names = KernelSpecFileSystem.list(root) ?? []
            let candidates: [Candidate] = names.compactMap { entry in
                guard !entry.hasPrefix(".") else { return nil }
                let path = root == "/" ? "/" + entry : root + "/" + entry
                guard let stamp = KernelSpecFileSystem.stamp(path), stamp.isDirectory else { return nil }
                let kernelJSON = path + "/kernel.json"
                return Candidate(
                    entryName: entry,
                    path: path,
                    resolvedPath: KernelSpecFileSystem.realPath(path),
                    directoryStamp: stamp,
                    kernelJSONResolvedPath: KernelSpecFileSystem.realPath(kernelJSON),
                    kernelJSONStamp: KernelSpecFileSystem.stamp(kernelJSON)
                )
            }
            return SearchDirectory(
                path: root,
                resolvedPath: KernelSpecFileSystem.realPath(root),
                stamp: KernelSpecFileSystem.stamp(root),
                candidates: candidates
            )
        })
    }
}
