import Foundation
import JupyterProtocol
import KernelGateway
import KernelLauncher
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// gateway_provisioners' own Python launcher (`launch_ipykernel.py`, from the test venv, assembled with its
/// `server_listener.py` as its images do) run as a local process: it starts a real ipykernel and pushes the
/// connection info to the listener; the test then talks to that kernel and drives it through the comm port.
@Suite(.timeLimit(.minutes(3))) struct RealLauncherTests {
    /// Copies the launcher and its listener module from the installed gateway_provisioners into a temporary directory.
    static func assembleLauncher() async throws -> URL {
        let package = try await TestPython.run(["-c", "import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))"])
        let launchers = URL(fileURLWithPath: package.trimmingCharacters(in: .whitespacesAndNewlines)).appendingPathComponent("kernel-launchers")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gp-launcher-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: launchers.appendingPathComponent("python/scripts/launch_ipykernel.py"),
                                         to: directory.appendingPathComponent("launch_ipykernel.py"))
        try FileManager.default.copyItem(at: launchers.appendingPathComponent("shared/scripts/server_listener.py"),
                                         to: directory.appendingPathComponent("server_listener.py"))
        return directory
    }

    /// Starts the launcher as the leader of its own process group (its output goes to the test's).
    static func start(in directory: URL, kernelID: String, responseAddress: String, publicKey: String) throws -> ChildProcess {
        let environment = ProcessInfo.processInfo.environment.merging(["LOG_LEVEL": "20"]) { $1 }
        return try ChildProcess.spawn(
            argv: [TestPython.python, directory.appendingPathComponent("launch_ipykernel.py").path,
                   "--kernel-id", kernelID, "--response-address", responseAddress, "--public-key", publicKey,
                   "--port-range", "0..0", "--spark-context-initialization-mode", "none"],
            environment: environment, workingDirectory: directory.path)
    }

    static func groupIsGone(_ pgid: Int32) -> Bool {
        if kill(-pgid, 0) != 0 && errno == ESRCH { return true }
        // Zombies of the group (not yet reaped) count as gone.
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[2]) == pgid, fields[0] != "Z" { return false }
        }
        return true
    }

    static func eventually(_ timeout: Duration = .seconds(15), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test func theRealLauncherReportsAKernelThatRunsIsInterruptedAndShutsDown() async throws {
        let recorder = LogRecorder()
        let pair = LaunchPayloadDecoderTests.pair
        let listener = try await LaunchResponseListener.bind(
            configuration: .init(host: "127.0.0.1", port: 0, connectionTimeout: .seconds(2)), keyPair: pair, logger: recorder.logger())
        let directory = try await Self.assembleLauncher()
        defer { try? FileManager.default.removeItem(at: directory) }
        let kernelID = UUID().uuidString.lowercased()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await listener.run() }
            defer { group.cancelAll() }
            let launch = try listener.launches.expect(kernelID: kernelID, fromAddress: "127.0.0.1", deadline: .now + .seconds(60))
            defer { launch.withdraw() }

            // Hostile traffic while the launch waits: it changes nothing.
            try await RawSender.send(Array("garbage".utf8), port: listener.localPort)
            let forged = try await TestPython.payload(publicKey: pair.publicKeyArgument, connectionInfo: TestPython.connectionInfo(kernelID: kernelID))
            try await RawSender.send(forged, port: listener.localPort, from: "127.0.0.9")

            let launcher = try Self.start(in: directory, kernelID: kernelID, responseAddress: "127.0.0.1:\(listener.localPort)",
                                          publicKey: pair.publicKeyArgument)
            let pid = launcher.pid
            defer { launcher.signalGroup(SIGKILL) }
            let response: LauncherResponse
            do { response = try await launch.response() } catch {
                Issue.record("no response from the launcher: \(error) (its log is in the test output)")
                return
            }
            #expect(response.kernelID == kernelID)
            #expect(response.pid == Int(pid) && response.pgid == Int(pid))
            #expect(response.connection.ip == "0.0.0.0" && response.connection.transport == "tcp")
            #expect(response.connection.key.count == 36)
            let commPort = try #require(response.commPort)

            // The gateway replaces the launcher's 0.0.0.0 by the address it knows for the kernel.
            var connection = response.connection
            connection.ip = "127.0.0.1"
            let connectionFile = directory.appendingPathComponent("connection.json")
            try JSONEncoder().encode(connection).write(to: connectionFile)
            let client = TestPython.scripts.appendingPathComponent("kernel_client.py").path

            let info = try await TestPython.run([client, "info", connectionFile.path])
            #expect(info.hasPrefix("kernel_info_reply 5."), "\(info)")

            // Interrupt by signal through the comm port ends a sleeping execute with KeyboardInterrupt.
            let busy = directory.appendingPathComponent("busy")
            async let sleeper = TestPython.run([client, "sleep", connectionFile.path, busy.path], timeout: .seconds(60))
            #expect(await Self.eventually(.seconds(30)) { FileManager.default.fileExists(atPath: busy.path) }, "the kernel runs the sleep")
            let comm = LauncherCommClient()
            try await comm.send(.interrupt, host: "127.0.0.1", port: commPort)
            let slept = try await sleeper
            #expect(slept.contains("reply error KeyboardInterrupt"), "\(slept)")

            // {"shutdown": 1} ends the launcher's listener: its comm port then refuses; the kernel still runs.
            try await comm.send(.shutdown, host: "127.0.0.1", port: commPort)
            var refused = false
            for _ in 0..<100 where !refused {
                do { try await comm.send(.signal(0), host: "127.0.0.1", port: commPort); try await Task.sleep(for: .milliseconds(100)) }
                catch { refused = (error as? LauncherCommError) == .refused }
            }
            #expect(refused, "the comm port refuses once the listener stopped")
            #expect(!launcher.hasExited, "the kernel outlives its launcher's listener")

            // The kernel's own shutdown request ends the process group (ipykernel 7 under this launcher takes ~30 s to
            // exit after its reply; a gateway deletes the pod meanwhile).
            let shutdown = try await TestPython.run([client, "shutdown", connectionFile.path])
            #expect(shutdown.contains("shutdown_reply ok"), "\(shutdown)")
            #expect(await Self.eventually(.seconds(60)) { launcher.hasExited && Self.groupIsGone(pid) })
        }
        #expect(await recorder.waitFor(.seconds(1)) { $0.message == "kernel launcher response accepted" && $0.metadata["kernel_id"] == kernelID })
        #expect(recorder.all.contains { $0.metadata["reason"]?.contains("another address") == true && $0.metadata["peer"] == "127.0.0.9" })
    }
}
