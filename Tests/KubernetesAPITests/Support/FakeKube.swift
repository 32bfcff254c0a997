import Foundation
import KubernetesAPI

#if canImport(Glibc)
import Glibc
#endif

/// The project's fake Kubernetes API server (`python -m tests.fakekube`), run as a child process for the
/// duration of ``with(tls:arguments:_:)`` and always stopped afterwards.
struct FakeKube: Sendable {
    /// The ready line the server prints (and writes to `--info-file`).
    struct Info: Decodable, Sendable {
        var url: String
        var kubeconfig: String?
        var caFile: String?
        var clientCert: String?
        var clientKey: String?
        var pid: Int32
    }

    let info: Info
    let directory: URL

    /// The repository root (this file is `Tests/<target>/Support/FakeKube.swift`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path

    /// Whether the fake server and its Python environment are present.
    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: python)
            && FileManager.default.fileExists(
                atPath: repositoryRoot.appendingPathComponent("tests/fakekube/__main__.py").path)
    }

    /// Configuration from the kubeconfig the server wrote.
    func configuration() throws -> KubernetesConfiguration {
        try KubernetesConfiguration.kubeconfig(path: info.kubeconfig, environment: [:])
    }

    /// Starts the server, runs `body`, stops the server (stdin EOF, then SIGTERM, then SIGKILL; 5 s each).
    static func with<T: Sendable>(
        tls: Bool = false, arguments: [String] = [], _ body: (FakeKube) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fakekube-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let infoFile = directory.appendingPathComponent("info.json")
        let logFile = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.currentDirectoryURL = repositoryRoot
        var args = ["-m", "tests.fakekube", "--port", "0", "--kubeconfig", directory.appendingPathComponent("kubeconfig").path,
                    "--info-file", infoFile.path, "--workdir", directory.appendingPathComponent("work").path,
                    "--stop-on-stdin-eof"]
        if tls { args += ["--tls", "--client-cert-auth"] }
        process.arguments = args + arguments
        let stdin = Pipe()
        let log = try FileHandle(forWritingTo: logFile)
        process.standardInput = stdin
        process.standardOutput = log
        process.standardError = log
        try process.run()
        do {
            let info = try await waitForReady(process, infoFile: infoFile, logFile: logFile)
            let result = try await body(FakeKube(info: info, directory: directory))
            await stop(process, stdin: stdin)
            try? log.close()
            return result
        } catch {
            await stop(process, stdin: stdin)
            try? log.close()
            throw error
        }
    }

    private static func waitForReady(_ process: Process, infoFile: URL, logFile: URL) async throws -> Info {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if let data = try? Data(contentsOf: infoFile), let info = try? JSONDecoder().decode(Info.self, from: data) {
                return info
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw TimedOut(what: "fakekube to start: \(output.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Closes the server's stdin (it exits on EOF), then SIGTERM after 5 s, then SIGKILL after 5 more.
    private static func stop(_ process: Process, stdin: Pipe) async {
        try? stdin.fileHandleForWriting.close()
        if await waitForExit(process, within: .seconds(5)) { return }
        process.terminate()
        if await waitForExit(process, within: .seconds(5)) { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await waitForExit(process, within: .seconds(5))
    }

    private static func waitForExit(_ process: Process, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                usleep(20_000)  // cancelled: stopping must still finish, without spinning
            }
        }
        return !process.isRunning
    }
}
