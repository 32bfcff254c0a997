import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The test venv's Python and the helper scripts beside these tests.
enum TestPython {
    /// The repository root (this file is `Tests/KernelLauncherTests/TestPython.swift`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `python args...` and returns its standard output; fails on a non-zero exit or after `timeout`.
    static func run(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("py-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = FileHandle.standardError
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw Failure(description: "python \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python \(arguments.first ?? "") exited \(process.terminationStatus): \(text)")
        }
        return text
    }

    /// Runs the vector script `launcher_payload.py` with `arguments`.
    static func vectors(_ arguments: [String]) async throws -> String {
        try await run([scripts.appendingPathComponent("launcher_payload.py").path] + arguments)
    }

    /// A launcher's payload for `connectionInfo` encrypted to `publicKey` (base64 DER), as version 1 launchers make it.
    static func payload(publicKey: String, connectionInfo: [String: Any], extra: [String] = []) async throws -> [UInt8] {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: connectionInfo), as: UTF8.self)
        return Array(try await vectors(["payload", publicKey, json] + extra).utf8)
    }

    /// A launcher-style connection info for `kernelID`.
    static func connectionInfo(kernelID: String, port: Int = 50_000) -> [String: Any] {
        ["shell_port": port, "iopub_port": port + 1, "stdin_port": port + 2, "control_port": port + 3, "hb_port": port + 4,
         "ip": "0.0.0.0", "key": "4dba73d1-6a4f-4d5c-8f9e-0a1b2c3d4e5f", "transport": "tcp", "signature_scheme": "hmac-sha256",
         "kernel_name": "", "pid": 12, "pgid": 9, "comm_port": port + 5, "kernel_id": kernelID]
    }
}
