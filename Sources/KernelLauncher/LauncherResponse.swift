import JupyterProtocol

/// What a kernel launcher reported: the kernel's connection info plus the launcher's own fields.
public struct LauncherResponse: Sendable, Equatable {
    /// The kernel id the launcher was started for (`kernel_id`).
    public var kernelID: String
    /// The kernel's ports, key, transport and signature scheme. `ip` is what the launcher wrote (`0.0.0.0` for the
    /// known launchers): the caller replaces it with the address it knows for the kernel (the pod IP), as EG does.
    public var connection: ConnectionInfo
    /// The launcher's comm port (`comm_port`), where it takes `{"signum": n}` and `{"shutdown": 1}`; `nil` when absent.
    public var commPort: Int?
    /// The launcher's process id (`pid`), when sent.
    public var pid: Int?
    /// The launcher's process group id (`pgid`), when sent.
    public var pgid: Int?

    /// Creates a response.
    public init(kernelID: String, connection: ConnectionInfo, commPort: Int? = nil, pid: Int? = nil, pgid: Int? = nil) {
        self.kernelID = kernelID
        self.connection = connection
        self.commPort = commPort
        self.pid = pid
        self.pgid = pgid
    }
}
