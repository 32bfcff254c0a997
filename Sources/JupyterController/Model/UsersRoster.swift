import KubernetesAPI

/// A user's files, as the gateway mounts them into that user's kernel pods. Written by the controller from
/// the notebook's storage, never taken from a client.
public struct UserWorkspace: Sendable, Hashable {
    /// The PersistentVolumeClaim.
    public var claim: String
    /// Where the notebook pod mounts it (kernels mount it at the same path).
    public var mountPath: String
    /// The claim's namespace (the notebook's).
    public var namespace: String
    /// When the claim may be mounted by one node only (not `ReadWriteMany`): the labels selecting the notebook's
    /// pod, whose node the gateway pins the user's kernel pods to. `nil` for a `ReadWriteMany` claim.
    public var notebookPodLabels: [String: String]?

    /// Creates a workspace.
    public init(claim: String, mountPath: String, namespace: String, notebookPodLabels: [String: String]? = nil) {
        self.claim = claim
        self.mountPath = mountPath
        self.namespace = namespace
        self.notebookPodLabels = notebookPodLabels
    }
}

/// One notebook claiming a user name on a gateway.
public struct UserClaim: Sendable, Hashable {
    /// The notebook.
    public var notebook: ObjectKey
    /// The user name (``NotebookIdentity/user(of:)``).
    public var user: String
    /// The notebook's `creationTimestamp` (RFC 3339): the oldest claim of a name holds it.
    public var createdAt: String
    /// SHA-256 of the notebook's gateway token; `nil` while it has none yet (no entry then).
    public var tokenSHA256: String?
    /// The notebook's work directory, if it has one.
    public var workspace: UserWorkspace?
    /// The notebook is being deleted or is stopped: it keeps its name reserved (its kernels are being shut
    /// down) but has no entry any more, so its token is refused at once.
    public var deleting: Bool

    /// Creates a claim.
    public init(
        notebook: ObjectKey, user: String, createdAt: String, tokenSHA256: String?, workspace: UserWorkspace? = nil,
        deleting: Bool = false
    ) {
        self.notebook = notebook
        self.user = user
        self.createdAt = createdAt
        self.tokenSHA256 = tokenSHA256
        self.workspace = workspace
        self.deleting = deleting
    }
}

/// The users of one gateway, decided from every notebook claiming a name on it. Pure and deterministic: the
/// same claims in any order give the same entries and the same text.
///
/// User names are unique per gateway: of the notebooks claiming one name, the oldest (by `creationTimestamp`,
/// then namespace and name) holds it; the others are conflicts and get no entry.
public struct UsersRoster: Sendable, Hashable {
    /// The entries, sorted by user name.
    public private(set) var entries: [UserClaim] = []
    /// User name → the notebook holding it (deleting ones included).
    public private(set) var holders: [String: ObjectKey] = [:]
    /// Notebook → the notebook holding the name it claims, for every notebook refused for a conflict.
    public private(set) var conflicts: [ObjectKey: ObjectKey] = [:]

    /// Decides the roster.
    /// - Parameter claims: Every notebook using the gateway (with consent), deleting ones included.
    public init(claims: [UserClaim]) {
        let ordered = claims.sorted { ($0.createdAt, $0.notebook) < ($1.createdAt, $1.notebook) }
        for claim in ordered {
            if let holder = holders[claim.user] {
                if holder != claim.notebook { conflicts[claim.notebook] = holder }
                continue
            }
            holders[claim.user] = claim.notebook
            if !claim.deleting, claim.tokenSHA256 != nil { entries.append(claim) }
        }
        entries.sort { $0.user < $1.user }
    }

    /// The `users.yaml` the gateway reads: a top-level `users:` list of `name`, `tokenSHA256`, `namespace` (the
    /// notebook's: where the gateway runs that user's kernels) and, when the
    /// notebook has a work directory, `workspace: {claim, mountPath, namespace}` plus, for a claim one node
    /// only may mount, `notebookPodLabels` (keys sorted). Strings are double-quoted with JSON escapes (valid
    /// YAML), so no name can change the document's structure.
    public var yaml: String {
        guard !entries.isEmpty else { return "users: []\n" }
        var lines = ["users:"]
        for entry in entries {
            lines.append("  - name: \(Self.quoted(entry.user))")
            lines.append("    tokenSHA256: \(Self.quoted(entry.tokenSHA256 ?? ""))")
            if let namespace = entry.notebook.namespace { lines.append("    namespace: \(Self.quoted(namespace))") }
            if let workspace = entry.workspace {
                lines.append("    workspace:")
                lines.append("      claim: \(Self.quoted(workspace.claim))")
                lines.append("      mountPath: \(Self.quoted(workspace.mountPath))")
                lines.append("      namespace: \(Self.quoted(workspace.namespace))")
                if let labels = workspace.notebookPodLabels, !labels.isEmpty {
                    lines.append("      notebookPodLabels:")
                    for key in labels.keys.sorted() {
                        lines.append("        \(Self.quoted(key)): \(Self.quoted(labels[key] ?? ""))")
                    }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar (JSON string syntax).
    static func quoted(_ text: String) -> String {
        let json = CanonicalJSON.text(.string(text))
        return json == "null" ? "\"\"" : json
    }
}
