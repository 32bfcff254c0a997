import Foundation

/// Removes the token from what other processes of the same user can read: `/proc/<pid>/environ` and
/// `/proc/<pid>/cmdline` show the memory the process started with, so unsetting a variable is not enough.
/// The bytes of the value are overwritten in place, then the variable is unset.
enum SecretScrubber {
    /// Variables that may carry the gateway's token.
    static let tokenVariables = ["EG_AUTH_TOKEN", "KG_AUTH_TOKEN", "EJ_AUTH_TOKEN"]

    /// Scrubs the token variables from the environment and the value of `--auth-token` from argv.
    static func scrubToken() {
        for name in tokenVariables { scrubEnvironment(name) }
        scrubArgument(after: "--auth-token")
    }

    static func scrubEnvironment(_ name: String) {
        let prefix = Array((name + "=").utf8)
        var entry = environ
        while let pointer = entry.pointee {
            if strncmp(pointer, prefix.map { CChar(bitPattern: $0) }, prefix.count) == 0 {
                overwrite(pointer + prefix.count)
            }
            entry += 1
        }
        unsetenv(name)
    }

    /// `--auth-token T` and `--auth-token=T`.
    static func scrubArgument(after flag: String) {
        let argv = CommandLine.unsafeArgv
        let count = Int(CommandLine.argc)
        let inline = flag + "="
        for index in 0..<count {
            guard let pointer = argv[index] else { continue }
            let argument = String(cString: pointer)
            if argument == flag, index + 1 < count, let value = argv[index + 1] {
                overwrite(value)
            } else if argument.hasPrefix(inline) {
                overwrite(pointer + inline.utf8.count)
            }
        }
    }

    /// Overwrites a C string's bytes with `*`, keeping its length (and so the memory layout).
    static func overwrite(_ pointer: UnsafeMutablePointer<CChar>) {
        let length = strlen(pointer)
        if length > 0 { memset(pointer, 0x2a, length) }
    }
}
