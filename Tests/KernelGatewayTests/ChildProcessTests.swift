#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KernelGateway
import Testing

@Suite struct ChildProcessTests {
    private static let systemPath = "/usr/local/bin:/usr/bin:/bin"

    private func spawnShell(_ script: String, env: [String: String] = [:], cwd: String? = nil) throws -> ChildProcess {
        try ChildProcess.spawn(argv: ["sh", "-c", script], environment: ["PATH": Self.systemPath].merging(env) { $1 },
                               workingDirectory: cwd)
    }

    /// Polls `condition` every 10 ms for at most `timeout`.
    private func eventually(_ timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// Gone, or a zombie nobody reaped yet (the container's init may not reap orphans).
    private func isGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test func reportsExitCode() async throws {
        let child = try spawnShell("exit 7")
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(7))
        #expect(child.hasExited)
        #expect(child.exitStatus == .exited(7))
        #expect(await child.waitForExit() == .exited(7))  // already exited: returns at once
    }

    @Test func reportsSignal() async throws {
        let child = try spawnShell("kill -KILL $$")
        #expect(await child.waitForExit(timeout: .seconds(10)) == .signaled(SIGKILL))
    }

    @Test func timeoutReturnsNilWhileRunningAndManyWaitersGetTheExit() async throws {
        let child = try ChildProcess.spawn(argv: ["sleep", "30"], environment: ["PATH": Self.systemPath],
                                           workingDirectory: nil)
        defer { child.signalGroup(SIGKILL) }
        #expect(await child.waitForExit(timeout: .milliseconds(200)) == nil)
        #expect(!child.hasExited)
        let results = await withTaskGroup(of: ChildProcessExit?.self) { group in
            for _ in 0..<8 { group.addTask { await child.waitForExit(timeout: .seconds(10)) } }
            try? await Task.sleep(for: .milliseconds(50))
            child.signalGroup(SIGTERM)
            return await group.reduce(into: [ChildProcessExit?]()) { $0.append($1) }
        }
        #expect(results == Array(repeating: .signaled(SIGTERM), count: 8))
        #expect(child.hasExited)
    }

    @Test func cancellingATimedWaitReturnsNil() async throws {
        let child = try ChildProcess.spawn(argv: ["sleep", "30"], environment: ["PATH": Self.systemPath],
                                           workingDirectory: nil)
        defer { child.signalGroup(SIGKILL) }
        let start = ContinuousClock.now
        let waiter = Task { await child.waitForExit(timeout: .seconds(20)) }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        #expect(await waiter.value == nil)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func signalGroupReachesGrandchildren() async throws {
        let tree = try KernelSpecTempTree()
        let pidFile = tree.path("grandchild.pid")
        let child = try spawnShell(#"sleep 30 & echo $! > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"; wait"#,
                                   env: ["PIDFILE": pidFile])
        defer { child.signalGroup(SIGKILL) }
        #expect(getpgid(child.pid) == child.pid)
        #expect(getpgid(child.pid) != getpgrp())
        #expect(await eventually { FileManager.default.fileExists(atPath: pidFile) })
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let grandchild = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(getpgid(grandchild) == child.pid)
        #expect(kill(grandchild, 0) == 0)

        child.signalGroup(SIGTERM)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .signaled(SIGTERM))
        #expect(await eventually { isGone(grandchild) })
        child.signalGroup(SIGTERM)  // group gone: ESRCH ignored
    }

    @Test func environmentIsExact() async throws {
        let tree = try KernelSpecTempTree()
        let out = tree.path("env.txt")
        let child = try ChildProcess.spawn(argv: ["/bin/sh", "-c", #"env > "$OUT""#],
                                           environment: ["OUT": out, "FOO": "a b=c"], workingDirectory: tree.root)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(0))
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
        // dash itself exports PWD; nothing else may appear (no PATH, HOME, … from the gateway).
        #expect(Set(lines.filter { !$0.hasPrefix("PWD=") }) == ["OUT=\(out)", "FOO=a b=c"])
    }

    @Test func workingDirectoryAndStdinFromDevNull() async throws {
        let tree = try KernelSpecTempTree()
        let cwd = try tree.directory("work dir")
        let child = try spawnShell(#"pwd -P > pwd.txt; cat > stdin.txt"#, cwd: cwd)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(0))
        let pwd = try String(contentsOfFile: cwd + "/pwd.txt", encoding: .utf8)
        #expect(pwd.trimmingCharacters(in: .newlines) == URL(fileURLWithPath: cwd).resolvingSymlinksInPath().path)
        #expect(try String(contentsOfFile: cwd + "/stdin.txt", encoding: .utf8) == "")
    }

    @Test func executableIsResolvedThroughTheGivenPath() async throws {
        let tree = try KernelSpecTempTree()
        try tree.write("bin/ej-tool", "#!/bin/sh\necho \"$1\" > \"$OUT\"\n")
        #expect(chmod(tree.path("bin/ej-tool"), 0o755) == 0)
        let out = tree.path("tool.txt")
        let child = try ChildProcess.spawn(argv: ["ej-tool", "hello"],
                                           environment: ["PATH": "/nonexistent:" + tree.path("bin"), "OUT": out],
                                           workingDirectory: nil)
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(0))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "hello\n")
        // `sh` is on the gateway's PATH but not on the child's.
        #expect(throws: ChildProcessError.executableNotFound("sh")) {
            try ChildProcess.spawn(argv: ["sh", "-c", "true"], environment: ["PATH": tree.path("bin")],
                                   workingDirectory: nil)
        }
    }

    @Test func relativeExecutableIsResolvedAgainstTheWorkingDirectory() async throws {
        let tree = try KernelSpecTempTree()
        try tree.write("w/run.sh", "#!/bin/sh\nexit 3\n")
        #expect(chmod(tree.path("w/run.sh"), 0o755) == 0)
        let child = try ChildProcess.spawn(argv: ["./run.sh"], environment: [:], workingDirectory: tree.path("w"))
        #expect(await child.waitForExit(timeout: .seconds(10)) == .exited(3))
    }

    @Test func spawnErrors() throws {
        #expect(throws: ChildProcessError.executableNotFound("ej-no-such-command")) {
            try ChildProcess.spawn(argv: ["ej-no-such-command"], environment: ["PATH": Self.systemPath],
                                   workingDirectory: nil)
        }
        #expect(throws: ChildProcessError.executableNotFound("/nonexistent/bin/x")) {
            try ChildProcess.spawn(argv: ["/nonexistent/bin/x"], environment: [:], workingDirectory: nil)
        }
        #expect(throws: ChildProcessError.emptyArgv) {
            try ChildProcess.spawn(argv: [], environment: [:], workingDirectory: nil)
        }
        #expect(throws: ChildProcessError.workingDirectoryNotFound("/nonexistent-ej-dir")) {
            try ChildProcess.spawn(argv: ["/bin/true"], environment: [:], workingDirectory: "/nonexistent-ej-dir")
        }
        #expect(throws: ChildProcessError.self) {
            try ChildProcess.spawn(argv: ["/bin/true"], environment: ["A=B": "x"], workingDirectory: nil)
        }
    }

    @Test func freePortsAreDistinctAndBindable() throws {
        let ports = try FreePorts.allocate(count: 5)
        #expect(ports.count == 5)
        #expect(Set(ports).count == 5)
        #expect(ports.allSatisfy { (1...65535).contains($0) })
        #expect(try FreePorts.allocate(count: 0).isEmpty)
        #expect(throws: (any Error).self) { try FreePorts.allocate(count: 1, host: "ej-no-such-host.invalid") }
    }

    /// Kernels started one after another (or in parallel) bind their ports only later: a port handed out must
    /// not be handed out again meanwhile. 500 ports from bind(0) alone would almost surely repeat one.
    @Test func portsHandedOutAreNotHandedOutAgain() throws {
        var all: [Int] = []
        for _ in 0..<100 { all += try FreePorts.allocate(count: 5) }
        #expect(Set(all).count == all.count)
    }
}
