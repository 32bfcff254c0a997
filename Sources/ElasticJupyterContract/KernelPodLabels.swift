/// The label and annotation keys of kernel pods: what the gateway writes when it starts a kernel and what the
/// controller (and the other gateway replicas) select and read. One definition, imported by both sides.
public enum KernelPodLabels {
    /// `app.kubernetes.io/name`: always ``appName``.
    public static let name = "app.kubernetes.io/name"
    /// `app.kubernetes.io/component`: ``kernelComponent`` on kernel pods (the controller's other children have
    /// `gateway` or `notebook`).
    public static let component = "app.kubernetes.io/component"
    /// The kernel id (EG's label, kept for tools written against EG).
    public static let kernelID = "kernel_id"
    /// EG's `component` label: ``kernelComponent``.
    public static let legacyComponent = "component"
    /// EG's `app` label: ``legacyAppName``.
    public static let legacyApp = "app"
    /// The owner's name as a label value (``labelValue(_:)``): readable, but not unique once shortened.
    public static let user = "elastic-jupyter.io/user"
    /// The gateway instance (its `EG_NAME`, as a ``labelValue(_:)``): two gateways in one namespace never touch
    /// each other's pods.
    public static let gateway = "elastic-jupyter.io/gateway"
    /// The notebook the kernel belongs to (from `KERNEL_NOTEBOOK`, as a ``labelValue(_:)``).
    public static let notebook = "elastic-jupyter.io/notebook"
    /// ``userHash(_:)`` of the kernel's owner: selects a user's kernel pods whatever characters the name has
    /// (label values allow only 63 characters of a small alphabet); the readable name is in ``userAnnotation``.
    public static let userHashLabel = "elastic-jupyter.io/user-hash"

    /// The kernelspec the kernel was started from.
    public static let kernelSpecAnnotation = "elastic-jupyter.io/kernelspec"
    /// The owner's full user name (labels cannot hold every name).
    public static let userAnnotation = "elastic-jupyter.io/user"
    /// The Secret holding the kernel's connection file.
    public static let secretAnnotation = "elastic-jupyter.io/connection-secret"
    /// When the kernel was last used (ISO 8601), written by the replica relaying to it.
    public static let lastActivityAnnotation = "elastic-jupyter.io/last-activity"
    /// Restarts of the kernel so far (written with the last activity).
    public static let restartsAnnotation = "elastic-jupyter.io/restarts"
    /// The replica that owns the kernel's lifecycle decisions (restart, culling); others only relay.
    public static let ownerAnnotation = "elastic-jupyter.io/owner"
    /// Set just before a deliberate deletion (`shutdown` or `cull`): the other replicas drop the kernel instead of
    /// waiting for a relaunch.
    public static let endingAnnotation = "elastic-jupyter.io/ending"
    /// Session id → `{"msg_id", "date"}` of the last iopub message a stopping replica handed to it (a JSON object).
    public static let iopubCursorsAnnotation = "elastic-jupyter.io/iopub-cursors"
    /// The claim of the user's workspace a kernel pod mounts (kernels of the gateway-wide claim have none).
    public static let workspaceAnnotation = "elastic-jupyter.io/workspace"
    /// A random id of the launch that created the object: how an ambiguous create is recognised as ours.
    public static let launchAnnotation = "elastic-jupyter.io/launch"

    /// Value of ``name``.
    public static let appName = "elastic-jupyter"
    /// Value of ``component`` and ``legacyComponent`` on kernel pods.
    public static let kernelComponent = "kernel"
    /// Value of ``legacyApp`` (EG's).
    public static let legacyAppName = "enterprise-gateway"

    /// A valid label value: at most 63 characters of `[A-Za-z0-9-_.]` (others become `-`), starting and ending
    /// alphanumeric. Applied to `EG_NAME`, `KERNEL_NOTEBOOK` and user names wherever they become labels.
    public static func labelValue(_ text: String) -> String {
        let allowed = text.map { character -> Character in
            character.isASCII && (character.isLetter || character.isNumber || character == "-" || character == "_"
                || character == ".") ? character : "-"
        }
        var value = String(String(allowed).prefix(63))
        while let first = value.first, !(first.isLetter || first.isNumber) { value.removeFirst() }
        while let last = value.last, !(last.isLetter || last.isNumber) { value.removeLast() }
        return value
    }

    /// The ``userHashLabel`` value of a user: the first 40 lower-case hex digits of the SHA-256 of the name's
    /// UTF-8 bytes.
    public static func userHash(_ user: String) -> String {
        String(SHA256Hex.of(user).prefix(40))
    }

    /// Selector of every kernel pod, of any gateway.
    public static var selector: String { "\(component)=\(kernelComponent)" }

    /// Selector of one gateway's kernel pods (by its instance label only).
    /// - Parameter gateway: The gateway's name (`EG_NAME`), not yet a label value.
    public static func selector(gateway: String) -> String {
        "\(selector),\(self.gateway)=\(labelValue(gateway))"
    }

    /// Selector of one user's kernel pods on a gateway.
    /// - Parameters:
    ///   - gateway: The gateway's name.
    ///   - userHash: ``userHash(_:)`` of the user.
    public static func selector(gateway: String, userHash: String) -> String {
        selector(gateway: gateway) + ",\(userHashLabel)=\(labelValue(userHash))"
    }

    /// Selector of one notebook's kernel pods on a gateway.
    /// - Parameters:
    ///   - gateway: The gateway's name.
    ///   - notebook: The notebook's name.
    public static func selector(gateway: String, notebook: String) -> String {
        selector(gateway: gateway) + ",\(self.notebook)=\(labelValue(notebook))"
    }
}
