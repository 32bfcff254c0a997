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

    /// Creates the provisioner; `runtimeDirectory` is created (mode 0700) if missing.
    public init(runtimeDirectory: String, host: String = "127.0.0.1", logger: Logger) throws(ProvisionerError) {
        self.runtimeDirectory = runtimeDirectory
        self.host = host
        self.logger = logger
        do {
            try FileManager.default.createDirectory(
                atPath: runtimeDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .launchFailed("Cannot create the runtime directory for connection files")
        }
    }

    /// A fresh per-gateway runtime directory under the system's temporary directory.
    public static func defaultRuntimeDirectory() -> String {
        let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? NSTemporaryDirectory()
        return (base as NSString).appendingPathComponent("elastic-jupyter-\(getpid())")
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
            throw .launchFailed("Could not start the kernel process '\(argv.first ?? "")': \(error)")
        }
        logger.info("kernel process started", metadata: [
            "kernel_id": "\(context.kernelID)", "pid": "\(process.pid)", "kernelspec": "\(context.spec.name)",
        ])
        return LocalKernelProcess(process: process, connectionInfo: info, connectionFile: connectionFile)
    }

    func writeConnectionFile(_ info: ConnectionInfo, to path: String) throws(ProvisionerError) {
        do {
            let data = try JSONEncoder().encode(info)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
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
