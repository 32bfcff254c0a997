import Crypto
import Foundation

/// Where the gateway's token comes from, and what the operator is told about it.
///
/// Safe by default: a gateway started without a token generates one (as jupyter_server does) and prints the
/// line that connects JupyterLab to it. No authentication at all takes `--allow-unauthenticated`.
enum AuthToken: Equatable {
    /// Given by `--auth-token`, `EG_AUTH_TOKEN` or `--auth-token-file`.
    case configured(String)
    /// Generated at start (nobody configured one).
    case generated(String)
    /// No single token: every client presents its own user's token (`--users-file` / `--users-secret`).
    case usersOnly
    /// No token, on purpose.
    case none

    /// The token clients must present; empty for `.none`.
    var value: String {
        switch self {
        case .configured(let token), .generated(let token): return token
        case .none, .usersOnly: return ""
        }
    }

    /// Longest token file read: a token is a short secret, not a document.
    static let maxFileBytes = 4096

    /// Resolves the token: `--auth-token` / `EG_AUTH_TOKEN`, else `--auth-token-file`, else generated unless
    /// `--allow-unauthenticated`.
    static func resolve(_ resolved: SettingsResolver) throws -> AuthToken {
        let direct = resolved.string("auth-token")
        let file = resolved.string("auth-token-file")
        if !direct.isEmpty && !file.isEmpty {
            throw SettingsError.invalid(key: "auth-token-file", value: file, expected: "either a token or a token file, not both")
        }
        let users = !resolved.string("users-file").isEmpty || !resolved.string("users-secret").isEmpty
        if users, try resolved.bool("allow-unauthenticated") {
            throw SettingsError.invalid(key: "allow-unauthenticated", value: "true", expected: "no users file or Secret (users need their tokens)")
        }
        if !direct.isEmpty { return .configured(direct) }
        if !file.isEmpty { return .configured(try read(file)) }
        if users { return .usersOnly }
        if try resolved.bool("allow-unauthenticated") { return .none }
        return .generated(generate())
    }

    static func read(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SettingsError.invalid(key: "auth-token-file", value: path, expected: "a readable file")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxFileBytes + 1)) ?? Data()
        guard data.count <= maxFileBytes, let text = String(data: data, encoding: .utf8) else {
            throw SettingsError.invalid(key: "auth-token-file", value: path, expected: "a UTF-8 token of at most \(maxFileBytes) bytes")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0.isNewline }) else {
            throw SettingsError.invalid(key: "auth-token-file", value: path, expected: "a file holding one non-empty token")
        }
        return token
    }

    /// 32 random bytes as 64 hex digits.
    static func generate() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
    }

    /// The line printed once the gateway listens: what to run to use it from JupyterLab.
    func connectLine(url: String) -> String {
        switch self {
        case .generated(let token):
            return "To use this gateway (token generated for this run):\n    jupyter lab --gateway-url=\(url) --GatewayClient.auth_token=\(token)"
        case .configured:
            return "To use this gateway:\n    jupyter lab --gateway-url=\(url) --GatewayClient.auth_token=<the configured token>"
        case .usersOnly:
            return "To use this gateway, each user gives their own token (users file or Secret) as GatewayClient.auth_token:\n    jupyter lab --gateway-url=\(url)"
        case .none:
            return "To use this gateway (NO authentication: anyone who reaches this port runs code as this user):\n    jupyter lab --gateway-url=\(url)"
        }
    }
}
