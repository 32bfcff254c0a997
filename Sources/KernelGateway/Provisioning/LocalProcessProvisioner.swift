import Foundation
import JupyterProtocol
import Logging

/// Runs each kernel as a local child process: the embedded default, no cluster needed.
///
/// Ports are picked free on loopback, the connection file is written with mode 0600 into a private
/// runtime directory and removed when the kernel goes. The process runs in its own process group (so
/// SIGINT / SIGTERM reach its children too) and gets `JPY_PARENT_PID`, so an ipykernel also exits by
/// itself should the gateway die without stopping it.
public struct LocalProcessProvisioner: Provisioner {
    let runtimeDirectory: String
    let host: String
    let logger: Logger

    /// Creates the provisioner; `runtimeDirectory` is created (mode 0700) if missing and must be a private
    /// directory of this user (see ``RuntimeDirectory``).
    /// - Throws: ``ProvisionerError/launchFailed(_:)`` saying why the directory cannot be used.
    public init(runtimeDirectory: String, host: String = "127.0.0.1", logger: Logger) throws(ProvisionerError) {
        self.runtimeDirectory = runtimeDirectory
        self.host = host
        self.logger = logger
        do {
            try RuntimeDirectory.prepare(runtimeDirectory)
        } catch {
            throw .launchFailed(error.description)
        }
    }

    /// The default per-gateway runtime directory (see ``RuntimeDirectory/defaultPath(environment:)``).
    public static func defaultRuntimeDirectory() -> String {
        RuntimeDirectory.defaultPath()
    }

    public func launch(_ context: LaunchContext) async throws(ProvisionerError) -> any ProvisionedKernel {
        let info: ConnectionInfo
        if let reuse = context.reuseConnection {
            info = reuse
        } else {
            let ports: [Int]
            do { ports = try FreePorts.allocate(count: 5, host: host) } catch {
                throw .launchFailed("No free ports for the kernel: \(error)")
            }
            info = ConnectionInfo(
                shellPort: ports[0], iopubPort: ports[1], stdinPort: ports[2], controlPort: ports[3], hbPort: ports[4],
                ip: host, key: UUID().uuidString.lowercased(), transport: "tcp", signatureScheme: "hmac-sha256",
                kernelName: context.spec.name)
        }
        let connectionFile = (runtimeDirectory as NSString).appendingPathComponent("kernel-\(context.kernelID).json")
        try writeConnectionFile(info, to: connectionFile)
        let argv = ArgvTemplate.render(context.spec.argv, values: [
            "connection_file": connectionFile,
            "resource_dir": context.spec.resourceDirectory,
            "kernel_id": context.kernelID,
            "prefix": (ProcessInfo.processInfo.environment["VIRTUAL_ENV"] ?? "/usr"),
        ])
        var environment = context.environment
        environment["JPY_PARENT_PID"] = String(getpid())
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(argv: argv, environment: environment, workingDirectory: context.workingDirectory)
        } catch {
            try? FileManager.default.removeItem(atPath: connectionFile)
            // The path and the system's reason go to the log; clients learn no server paths.
            logger.error("could not start the kernel process", metadata: [
                "kernel_id": "\(context.kernelID)", "kernelspec": "\(context.spec.name)",
                "executable": "\(argv.first ?? "")", "error": "\(error)",
            ])
            throw .launchFailed("Could not start the kernel process of kernelspec '\(context.spec.name)' (see the gateway's log)")
        }
        logger.info("kernel process started", metadata: [
            "kernel_id": "\(context.kernelID)", "pid": "\(process.pid)", "kernelspec": "\(context.spec.name)",
        ])
        return LocalKernelProcess(process: process, connectionInfo: info, connectionFile: connectionFile)
    }

    /// Writes a new connection file: created exclusively (never an existing file, never through a symlink),
    /// mode 0600. A leftover of this kernel id (the directory is private) is removed first.
    func writeConnectionFile(_ info: ConnectionInfo, to path: String) throws(ProvisionerError) {
        do {
            let data = try JSONEncoder().encode(info)
            let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
            var fd = open(path, flags, 0o600)
            if fd < 0, errno == EEXIST, unlink(path) == 0 { fd = open(path, flags, 0o600) }
            guard fd >= 0 else { throw ProvisionerError.launchFailed("Cannot write the connection file (errno \(errno))") }
            defer { close(fd) }
            fchmod(fd, 0o600)
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == data.count else { throw ProvisionerError.launchFailed("Cannot write the connection file") }
        } catch let error as ProvisionerError {
            throw error
        } catch {
            throw .launchFailed("Cannot encode the connection file")
        }
    }
}

/// A kernel running as a local child process.
final class LocalKernelProcess: ProvisionedKernel {
    let process: ChildProcess
    let connectionInfo: ConnectionInfo
    let connectionFile: String

    init(process: ChildProcess, connectionInfo: ConnectionInfo, connectionFile: String) {
        self.process = process
        self.connectionInfo = connectionInfo
        self.connectionFile = connectionFile
    }

    var processID: Int32? { process.pid }
    var hasExited: Bool { process.hasExited }

    func interruptBySignal() async throws(ProvisionerError) {
        process.signalGroup(SIGINT)
    }

    func terminate(grace: Duration) async {
        if process.hasExited { return }
        process.signalGroup(SIGTERM)
        if await process.waitForExit(timeout: grace) != nil { return }
        process.signalGroup(SIGKILL)
        _ = await process.waitForExit(timeout: .seconds(10))
    }

    func waitForExit() async -> KernelExit {
        switch await process.waitForExit() {
        case .exited(let code): return .exited(code: code)
        case .signaled(let signal): return .signaled(signal: signal)
        }
    }

    func waitForExitOrCancellation() async -> KernelExit? {
        while !Task.isCancelled {
            if let exit = await process.waitForExit(timeout: .seconds(3600)) {
                switch exit {
                case .exited(let code): return .exited(code: code)
                case .signaled(let signal): return .signaled(signal: signal)
                }
            }
        }
        return nil
    }

    func cleanUp() async {
        // Whatever the kernel itself started in its group goes with it.
        process.signalGroup(SIGKILL)
        try? FileManager.default.removeItem(atPath: connectionFile)
    }
}
