#if canImport(Glibc)
import Glibc
#endif
import Foundation
import JupyterProtocol
@testable import KernelGateway
import Logging
import Testing

/// Finding 15 and 31: the runtime directory is private and verified, connection files are created exclusively
/// without following links, and a reaped kernel's process group is never signalled again.
@Suite struct SharedHostTests {
    final class Scratch {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "ej-shared-host-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func theDefaultIsNeverInTmp() {
        let pid = getpid()
        #expect(RuntimeDirectory.defaultPath(environment: ["XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/u"])
                == "/run/user/1000/elastic-jupyter-\(pid)")
        #expect(RuntimeDirectory.defaultPath(environment: ["JUPYTER_RUNTIME_DIR": "/j/rt", "HOME": "/home/u"])
                == "/j/rt/elastic-jupyter-\(pid)")
        #expect(RuntimeDirectory.defaultPath(environment: ["HOME": "/home/u", "TMPDIR": "/tmp"])
                == "/home/u/.local/share/jupyter/runtime/elastic-jupyter-\(pid)")
    }

    @Test func aNewDirectoryIsCreated0700EvenUnderAPermissiveUmask() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/a/b/runtime"
        let old = umask(0)
        defer { umask(old) }
        try RuntimeDirectory.prepare(path)
        #expect(Self.mode(path) == 0o700)
        #expect(Self.mode(scratch.path + "/a/b") == 0o700)
        try RuntimeDirectory.prepare(path)  // an existing private directory is fine
    }

    @Test func aDirectoryWithAnotherModeIsRefused() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/runtime"
        mkdir(path, 0o777)
        chmod(path, 0o777)
        #expect(throws: RuntimeDirectory.Refusal.self) { try RuntimeDirectory.prepare(path) }
        #expect(throws: ProvisionerError.self) { _ = try LocalProcessProvisioner(runtimeDirectory: path, logger: Logger(label: "t")) }
    }

    @Test func aSymlinkIsRefused() throws {
        let scratch = try Scratch()
        let target = scratch.path + "/elsewhere"
        mkdir(target, 0o700)
        let path = scratch.path + "/runtime"
        symlink(target, path)
        #expect(throws: RuntimeDirectory.Refusal.self) { try RuntimeDirectory.prepare(path) }
    }

    @Test func aDirectoryOfAnotherUserIsRefused() throws {
        var info = stat()
        info.st_mode = S_IFDIR | 0o700
        info.st_uid = geteuid() == 0 ? 65534 : 0
        #expect(throws: RuntimeDirectory.Refusal.self) { try RuntimeDirectory.verify(info, path: "/x") }
        info.st_uid = geteuid()
        #expect(throws: Never.self) { try RuntimeDirectory.verify(info, path: "/x") }
    }

    @Test func connectionFilesNeverFollowALink() throws {
        let scratch = try Scratch()
        let runtime = scratch.path + "/runtime"
        let provisioner = try LocalProcessProvisioner(runtimeDirectory: runtime, logger: Logger(label: "t"))
        let victim = scratch.path + "/victim"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        let file = runtime + "/kernel-x.json"
        symlink(victim, file)
        let info = ConnectionInfo(shellPort: 1, iopubPort: 2, stdinPort: 3, controlPort: 4, hbPort: 5, ip: "127.0.0.1",
                                  key: "k", transport: "tcp", signatureScheme: "hmac-sha256", kernelName: "x")
        try provisioner.writeConnectionFile(info, to: file)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
        var status = stat()
        lstat(file, &status)
        #expect(status.st_mode & S_IFMT == S_IFREG)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("\"key\""))
    }

    @Test func aReapedProcessGroupIsNeverSignalledAndItsLeftoversDieWithIt() async throws {
        let scratch = try Scratch()
        let pidFile = scratch.path + "/child"
        let child = try ChildProcess.spawn(
            argv: ["sh", "-c", "sleep 60 & echo $! > \(pidFile); exit 0"], environment: ["PATH": "/usr/bin:/bin"],
            workingDirectory: nil)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(0))
        #expect(child.isReaped)
        let grandchild = Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(grandchild > 0)
        // The group was killed while the kernel was still a zombie (its id reserved), not after the reap.
        var gone = false
        for _ in 0..<200 {
            if kill(grandchild, 0) != 0 || (try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8))?
                .split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") == true {
                gone = true
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(gone)
        child.signalGroup(SIGKILL)  // a no-op now: nothing to observe but no crash, no signal
    }
}
