#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

extension ChildProcess {
    /// Starts `argv` with `posix_spawn` in a new process group (pgid = pid).
    ///
    /// - `argv[0]` without a `/` is looked up in the `PATH` of `environment` (not the gateway's; default
    ///   `/usr/local/bin:/usr/bin:/bin` when absent); relative paths are relative to `workingDirectory`.
    /// - The child gets exactly `environment` (nothing inherited), runs in `workingDirectory` (else the
    ///   gateway's), reads stdin from `/dev/null`, shares stdout/stderr, has default signal dispositions,
    ///   an empty signal mask and no other inherited descriptors.
    public static func spawn(
        argv: [String],
        environment: [String: String],
        workingDirectory: String?
    ) throws(ChildProcessError) -> ChildProcess {
        guard let command = argv.first else { throw ChildProcessError.emptyArgv }
        for argument in argv where argument.contains("\0") {
            throw ChildProcessError.invalidArgument("NUL byte in argument")
        }
        for (name, value) in environment where name.isEmpty || name.contains("=") || name.contains("\0") || value.contains("\0") {
            throw ChildProcessError.invalidArgument("bad environment entry \(name.debugDescription)")
        }
        if let workingDirectory {
            guard !workingDirectory.contains("\0"), KernelSpecFileSystem.isDirectory(workingDirectory) else {
                throw ChildProcessError.workingDirectoryNotFound(workingDirectory)
            }
        }
        guard let executable = resolveExecutable(command, environment: environment, workingDirectory: workingDirectory) else {
            throw ChildProcessError.executableNotFound(command)
        }
        let pid = try spawnProcess(executable: executable, argv: argv,
                                   environment: environment.map { "\($0.key)=\($0.value)" },
                                   workingDirectory: workingDirectory)
        let process = ChildProcess(pid: pid)
        process.startReaper()
        return process
    }

    /// Absolute path of the executable `command` would run, or nil.
    static func resolveExecutable(_ command: String, environment: [String: String], workingDirectory: String?) -> String? {
        let base = workingDirectory ?? FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : base + "/" + path }
        if command.isEmpty { return nil }
        if command.contains("/") {
            let path = absolute(command)
            return isExecutableFile(path) ? path : nil
        }
        let searchPath = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = absolute((entry.isEmpty ? "." : String(entry)) + "/" + command)
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        KernelSpecFileSystem.isRegularFile(path) && access(path, X_OK) == 0
    }

    private static func spawnProcess(
        executable: String,
        argv: [String],
        environment: [String],
        workingDirectory: String?
    ) throws(ChildProcessError) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let workingDirectory {
            _ = spawnAddChdir(&actions, workingDirectory)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        #if canImport(Glibc)
        _ = spawnAddCloseFrom(&actions, 3)
        #endif

        var pid: pid_t = 0
        var result: Int32 = 0
        // ETXTBSY: another thread's fork may still hold a just-written executable open for writing
        // until its exec; the window is short, so retry briefly (as Go's os/exec does).
        for attempt in 0..<20 {
            result = withCStringArray(argv) { argvPointer in
                withCStringArray(environment) { environmentPointer in
                    posix_spawn(&pid, executable, &actions, &attributes, argvPointer, environmentPointer)
                }
            }
            guard result == ETXTBSY else { break }
            usleep(useconds_t(5_000 * (attempt + 1)))
        }
        guard result == 0 else { throw ChildProcessError.spawnFailed(executable: executable, errno: result) }
        return pid
    }

    private static func withCStringArray<R>(
        _ strings: [String],
        _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
    ) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

// glibc (2.29+ / 2.34+) has these, but its headers only declare them for _GNU_SOURCE builds, so the
// Glibc module does not import them: bind to the symbols directly.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnAddChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32
