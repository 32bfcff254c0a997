/// Where a user's files live (the `workspace` of a users entry): parsed and validated here, mounted into the user's
/// kernel pods elsewhere. Never taken from a client.
public struct UserWorkspace: Sendable, Equatable {
    /// The PersistentVolumeClaim holding the files (a DNS-1123 name).
    public var claim: String
    /// Where the claim is mounted in kernel pods (an absolute path).
    public var mountPath: String
    /// The namespace of the claim (a DNS-1123 label).
    public var namespace: String
    /// The notebook's path inside the claim, if any (kernels start in its directory).
    public var path: String?
    /// When only one node may mount the claim (`ReadWriteOnce`): labels selecting the notebook server's pod, whose
    /// node the user's kernel pods must share. `nil` when any node may mount it.
    public var notebookPodLabels: [String: String]?

    /// Creates a workspace.
    public init(
        claim: String, mountPath: String, namespace: String, path: String? = nil, notebookPodLabels: [String: String]? = nil
    ) {
        self.claim = claim
        self.mountPath = mountPath
        self.namespace = namespace
        self.path = path
        self.notebookPodLabels = notebookPodLabels
    }
}

/// Who a request acts as: resolved from its token by the HTTP edge, checked by the kernel manager on every start and
/// every kernel it names.
///
/// A non-admin sees and acts on only the kernels it owns (a kernel's owner is its `KERNEL_USERNAME`, which for a
/// non-admin is always its name); an admin sees every kernel and may start kernels for any user.
public struct UserIdentity: Sendable, Equatable {
    /// The user's name; nil for the gateway's own token and for unauthenticated gateways (admins with no name).
    public var name: String?
    /// Whether the user sees every kernel and may act for any user.
    public var isAdmin: Bool
    /// The kernelspecs the user may start; nil = all.
    public var kernelspecs: Set<String>?
    /// The user's own limit of kernels at once, replacing `--max-kernels-per-user` for them (0 = unlimited, as the
    /// flag); nil = the global limit.
    public var maxKernels: Int?
    /// The user's files, if the users entry names them.
    public var workspace: UserWorkspace?
    /// Where the user's pod kernels run (their notebook's namespace), if not the gateway's own; else the workspace's.
    public var namespace: String?

    /// The namespace of the user's pod kernels, if the users entry names one.
    public var kernelNamespace: String? { namespace ?? workspace?.namespace }

    /// Creates an identity.
    public init(name: String?, isAdmin: Bool, kernelspecs: Set<String>? = nil, maxKernels: Int? = nil, workspace: UserWorkspace? = nil) {
        self.name = name
        self.isAdmin = isAdmin
        self.kernelspecs = kernelspecs
        self.maxKernels = maxKernels
        self.workspace = workspace
    }

    /// The gateway's single token (`--auth-token`), or any request of a gateway run with `--allow-unauthenticated`:
    /// an admin with no name.
    public static let anonymousAdmin = UserIdentity(name: nil, isAdmin: true)

    /// No identity at all (a request no authentication looked at): sees nothing, may start nothing.
    public static let nobody = UserIdentity(name: nil, isAdmin: false, kernelspecs: [])

    /// Whether this identity may see and act on a kernel (or session) owned by `owner`.
    public func canAccess(ownedBy owner: String?) -> Bool {
        if isAdmin { return true }
        guard let name, let owner else { return false }
        return name == owner
    }

    /// Whether this identity may start kernels of the kernelspec `specName`.
    public func mayStart(kernelSpec specName: String) -> Bool {
        kernelspecs?.contains(specName) ?? true
    }
}
