import Foundation
import JupyterProtocol
import Logging
import Synchronization

/// The set of kernelspecs found in the configured search directories.
///
/// Results are cached; at most every `rescanInterval` the directories are stat-ed and, if anything changed
/// (a `kernel.json` edit, an added/removed directory or file, a ConfigMap `..data` symlink swap), the
/// catalog is rebuilt. Thread-safe.
public final class KernelSpecCatalog: Sendable {
    private struct State: Sendable {
        var scan: KernelSpecScan?
        var specs: [String: KernelSpec] = [:]
        var lastCheck: ContinuousClock.Instant?
    }

    private let configuration: KernelSpecCatalogConfiguration
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a catalog; nothing is read until the first query.
    public init(configuration: KernelSpecCatalogConfiguration, logger: Logger) {
        var configuration = configuration
        configuration.allowedKernels = configuration.allowedKernels.map { Set($0.map { $0.lowercased() }) }
        self.configuration = configuration
        self.logger = logger
    }

    /// The name reported as `"default"` in the kernelspecs list.
    public var defaultKernelName: String { configuration.defaultKernelName }

    /// Allowed, successfully parsed specs by name (bad ones are skipped with a log line).
    public func specs() -> [String: KernelSpec] {
        current()
    }

    /// The allowed spec called `name` (case-insensitive), or nil if unknown or not allowed.
    public func spec(named name: String) -> KernelSpec? {
        current()[name.lowercased()]
    }

    /// Re-reads the directories now if anything changed, regardless of `rescanInterval`.
    public func refresh() {
        _ = current(force: true)
    }

    private func current(force: Bool = false) -> [String: KernelSpec] {
        state.withLock { state in
            let now = ContinuousClock.now
            if !force, state.scan != nil, let last = state.lastCheck, now - last < configuration.rescanInterval {
                return state.specs
            }
            state.lastCheck = now
            let scan = KernelSpecScan.take(configuration.searchDirectories)
            if scan != state.scan {
                state.specs = load(scan)
                state.scan = scan
            }
            return state.specs
        }
    }

    private func load(_ scan: KernelSpecScan) -> [String: KernelSpec] {
        var claimed: Set<String> = []
        var specs: [String: KernelSpec] = [:]
        for directory in scan.directories {
            for candidate in directory.candidates {
                guard candidate.kernelJSONStamp != nil else { continue }  // not a kernelspec directory
                let name = candidate.entryName.lowercased()
                guard Self.isValidKernelName(name) else {
                    logger.warning("Skipping kernelspec with invalid name (allowed: a-z 0-9 . _ -)",
                                   metadata: ["path": "\(candidate.path)"])
                    continue
                }
                guard claimed.insert(name).inserted else {
                    logger.debug("Kernelspec shadowed by an earlier search directory",
                                 metadata: ["kernel_name": "\(name)", "path": "\(candidate.path)"])
                    continue
                }
                if let allowed = configuration.allowedKernels, !allowed.contains(name) { continue }
                do {
                    specs[name] = try Self.read(name: name, directory: candidate.path)
                } catch {
                    logger.warning("Skipping kernelspec: \(error.message)",
                                   metadata: ["kernel_name": "\(name)", "path": "\(candidate.path)"])
                }
            }
        }
        logger.debug("Kernelspecs loaded", metadata: ["kernels": "\(specs.keys.sorted())"])
        return specs
    }

    static func read(name: String, directory: String) throws(KernelSpecError) -> KernelSpec {
        let file = directory + "/kernel.json"
        guard KernelSpecFileSystem.isRegularFile(file),
              let data = FileManager.default.contents(atPath: file) else {
            throw KernelSpecError("cannot read \(file)")
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(Array(data))
        } catch {
            throw KernelSpecError("invalid JSON in \(file): \(error)")
        }
        return try KernelSpec.parse(name: name, resourceDirectory: directory, json: json,
                                    resourceFiles: resourceFiles(in: directory))
    }

    static func isValidKernelName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "0"..."9", ".", "_", "-": return true
            default: return false
            }
        }
    }
}
