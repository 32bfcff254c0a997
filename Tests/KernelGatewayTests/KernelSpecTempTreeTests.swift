import Foundation
import KernelGateway
import Logging

/// A temporary directory tree for kernelspec tests, removed on deinit (helpers only).
final class KernelSpecTempTree {
    let root: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        root = (base.hasSuffix("/") ? base : base + "/") + "ej-kernelspec-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    static let logger: Logger = {
        var logger = Logger(label: "kernelspec-tests")
        logger.logLevel = .critical
        return logger
    }()

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Creates (if needed) and returns `root/relative`.
    @discardableResult
    func directory(_ relative: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
        return path(relative)
    }

    /// Writes `contents` to `root/relative`, creating parent directories.
    func write(_ relative: String, _ contents: String) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: false, encoding: .utf8)
    }

    /// Writes `root/searchDir/name/kernel.json`: a valid local spec plus the `extra` JSON members.
    func spec(_ searchDir: String, _ name: String, displayName: String = "Spec", extra: String = "") throws {
        try write("\(searchDir)/\(name)/kernel.json", Self.kernelJSON(displayName: displayName, extra: extra))
    }

    static func kernelJSON(displayName: String, extra: String = "") -> String {
        """
        {"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "\(displayName)", "language": "python"\(extra.isEmpty ? "" : ", " + extra)}
        """
    }

    func symlink(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: destination)
    }

    func remove(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: path(relative))
    }

    /// A catalog over `root/<searchDir>` for each entry.
    func catalog(_ searchDirs: [String], allowed: Set<String>? = nil,
                 rescan: Duration = .seconds(3600)) -> KernelSpecCatalog {
        KernelSpecCatalog(
            configuration: KernelSpecCatalogConfiguration(
                searchDirectories: searchDirs.map(path), allowedKernels: allowed,
                defaultKernelName: "python3", rescanInterval: rescan),
            logger: Self.logger)
    }
}
