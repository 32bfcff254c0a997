import ElasticJupyterContract
import Foundation

/// Who a notebook is to its gateway: the user name of its entry in the gateway's users Secret, and the
/// hashes the gateway and its kernel pods know that user by.
public enum NotebookIdentity {
    /// The longest user name `spec.user` may give (the CRD's `maxLength`).
    public static let maximumUserLength = 63

    /// The user of a notebook: `spec.user`, else `<namespace>-<name>` (unique across namespaces, which the
    /// notebook's name alone is not).
    public static func user(of notebook: JupyterNotebook) -> String {
        if let explicit = notebook.spec.user, !explicit.isEmpty { return explicit }
        return "\(notebook.namespace)-\(notebook.name)"
    }

    /// The longest user name the gateway's users file accepts (a longer default refuses the notebook).
    public static let maximumEffectiveUserLength = 253

    /// Why the notebook cannot have an entry in a users Secret, or `nil` when it can. Checked again here (the
    /// CRD's patterns may not have been applied) because the gateway refuses a users file with one bad entry:
    /// - `spec.user`: at most ``maximumUserLength`` characters of `[A-Za-z0-9-_.@]`, starting and ending
    ///   alphanumeric; the default `<namespace>-<name>` at most ``maximumEffectiveUserLength``;
    /// - the workspace: a claim that is a DNS-1123 subdomain, a mount path that is absolute without `..`.
    public static func problem(with notebook: JupyterNotebook) -> String? {
        if let user = notebook.spec.user, !user.isEmpty {
            let shown = String(user.prefix(80).debugDescription)
            guard user.count <= maximumUserLength else { return "spec.user \(shown) is longer than \(maximumUserLength) characters" }
            guard isSafe(user) else { return "spec.user \(shown) must be letters, digits, '-', '_', '.' or '@', starting and ending alphanumeric" }
        } else if user(of: notebook).count > maximumEffectiveUserLength {
            return "the default user <namespace>-<name> is longer than \(maximumEffectiveUserLength) characters: set spec.user"
        }
        let storage = notebook.spec.storage
        if let claim = storage?.existingClaim, !claim.isEmpty, !isSubdomain(claim) {
            return "spec.storage.existingClaim \(String(claim.prefix(80).debugDescription)) is not a DNS-1123 name"
        }
        if let path = storage?.mountPath, !path.isEmpty, !path.hasPrefix("/") || path.split(separator: "/").contains("..") {
            return "spec.storage.mountPath \(String(path.prefix(80).debugDescription)) must be an absolute path without '..'"
        }
        return nil
    }

    /// A DNS-1123 subdomain: at most 253 characters of `[a-z0-9-.]`, starting and ending alphanumeric.
    static func isSubdomain(_ name: String) -> Bool {
        let alphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLowercase || $0.isNumber) }
        guard name.count <= 253, let first = name.first, let last = name.last, alphanumeric(first), alphanumeric(last) else { return false }
        return name.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "." }
    }

    /// Whether a user name only has `[A-Za-z0-9-_.@]` and starts and ends alphanumeric.
    static func isSafe(_ user: String) -> Bool {
        let alphanumeric: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber) }
        guard let first = user.first, let last = user.last, alphanumeric(first), alphanumeric(last) else { return false }
        return user.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." || $0 == "@" }
    }

    /// The `elastic-jupyter.io/user-hash` label value of a user's kernel pods (``KernelPodLabels/userHash(_:)``,
    /// which the gateway writes).
    public static func userHash(_ user: String) -> String {
        KernelPodLabels.userHash(user)
    }

    /// Lower-case hex SHA-256 of a token: what the users Secret stores instead of the token
    /// (``UsersSecretFormat/tokenHash(_:)``, which the gateway compares).
    public static func tokenHash(_ token: String) -> String {
        UsersSecretFormat.tokenHash(token)
    }
}
