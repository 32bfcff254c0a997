/// How a child process ended.
public enum ChildProcessExit: Sendable, Equatable, CustomStringConvertible {
    /// Normal exit with this status code (`-1` if the status was lost because something else reaped the child).
    case exited(Int32)
    /// Killed by this signal.
    case signaled(Int32)

    /// Decodes a `waitpid(2)` status word (WIFEXITED / WTERMSIG without the C macros).
    init(waitStatus status: Int32) {
        let low = status & 0x7f
        self = low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }

    /// `"exit code N"` or `"signal N"`.
    public var description: String {
        switch self {
        case .exited(let code): "exit code \(code)"
        case .signaled(let signal): "signal \(signal)"
        }
    }
}

/// Why ``ChildProcess/spawn(argv:environment:workingDirectory:)`` failed.
public enum ChildProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `argv` was empty.
    case emptyArgv
    /// An argument or environment entry contains a NUL byte, or an environment name is empty or contains `=`.
    case invalidArgument(String)
    /// `argv[0]` was not found (through the given environment's `PATH` when it has no `/`).
    case executableNotFound(String)
    /// The working directory does not exist or is not a directory.
    case workingDirectoryNotFound(String)
    /// `posix_spawn` failed with this errno.
    case spawnFailed(executable: String, errno: Int32)

    /// Human readable reason.
    public var description: String {
        switch self {
        case .emptyArgv: "empty argv"
        case .invalidArgument(let what): "invalid argument: \(what)"
        case .executableNotFound(let name): "executable not found: \(name)"
        case .workingDirectoryNotFound(let path): "working directory not found: \(path)"
        case .spawnFailed(let executable, let code): "cannot spawn \(executable): errno \(code)"
        }
    }
}
