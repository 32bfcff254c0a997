import JupyterProtocol

/// How a kernel described by a kernelspec is provisioned.
public enum ProvisionerKind: String, Sendable {
    /// A local child process of the gateway (EG `LocalProcessProxy`).
    case local
    /// A Kubernetes pod (EG `KubernetesProcessProxy`).
    case kubernetes
}

/// How a kernel is interrupted (`interrupt_mode` in `kernel.json`).
public enum InterruptMode: String, Sendable {
    /// Send SIGINT (or the kernel's alternate signal) to the kernel process.
    case signal
    /// Send an `interrupt_request` on the control channel.
    case message
}

/// One kernelspec: a directory holding a `kernel.json` and optional resource files.
public struct KernelSpec: Sendable {
    /// The kernel name: the lower-cased directory name.
    public let name: String
    /// Absolute path of the kernelspec directory (as found, symlinks not resolved).
    public let resourceDirectory: String
    /// Command line template (`{connection_file}` etc. not substituted).
    public let argv: [String]
    /// Human readable name (`display_name`).
    public let displayName: String
    /// Kernel language (`language`).
    public let language: String
    /// Interrupt mode (`interrupt_mode`), `.signal` when absent.
    public let interruptMode: InterruptMode
    /// Raw `env` of `kernel.json` (no `${VAR}` substitution applied).
    public let env: [String: String]
    /// Raw `metadata` of `kernel.json`.
    public let metadata: [String: JSONValue]
    /// The spec as served in the kernelspec model's `"spec"`:
    /// `argv, env, display_name, language, interrupt_mode, metadata`.
    public let specJSON: JSONValue
    /// Names of the regular files at the top level of the directory other than `kernel.json`
    /// (hidden files excluded), sorted.
    public let resourceFiles: [String]
    /// Which provisioner launches this kernel.
    public let provisioner: ProvisionerKind
    /// `process_proxy.config.authorized_users`; `nil` when absent or empty (no list).
    public let authorizedUsers: Set<String>?
    /// `process_proxy.config.unauthorized_users` (empty when absent).
    public let unauthorizedUsers: Set<String>

    /// Creates a spec from already-validated values; `specJSON` is derived from them.
    public init(
        name: String,
        resourceDirectory: String,
        argv: [String],
        displayName: String,
        language: String,
        interruptMode: InterruptMode = .signal,
        env: [String: String] = [:],
        metadata: [String: JSONValue] = [:],
        resourceFiles: [String] = [],
        provisioner: ProvisionerKind = .local,
        authorizedUsers: Set<String>? = nil,
        unauthorizedUsers: Set<String> = []
    ) {
        self.name = name
        self.resourceDirectory = resourceDirectory
        self.argv = argv
        self.displayName = displayName
        self.language = language
        self.interruptMode = interruptMode
        self.env = env
        self.metadata = metadata
        self.resourceFiles = resourceFiles
        self.provisioner = provisioner
        self.authorizedUsers = authorizedUsers
        self.unauthorizedUsers = unauthorizedUsers
        self.specJSON = .object([
            "argv": .array(argv.map { .string($0) }),
            "env": .object(env.mapValues { .string($0) }),
            "display_name": .string(displayName),
            "language": .string(language),
            "interrupt_mode": .string(interruptMode.rawValue),
            "metadata": .object(metadata),
        ])
    }

    /// `true` if `user` may start this kernel: a user in `unauthorizedUsers` never may;
    /// when `authorizedUsers` is present the user must be in it. A `nil` user is in no list,
    /// so it is allowed exactly when there is no authorized list.
    public func allows(user: String?) -> Bool {
        guard let user else { return authorizedUsers == nil }
        if unauthorizedUsers.contains(user) { return false }
        if let authorizedUsers, !authorizedUsers.contains(user) { return false }
        return true
    }
}
