import Crypto

/// A JupyterLab login password as jupyter_server stores it (`PasswordIdentityProvider.hashed_password`):
/// `sha256:<salt>:<hex digest of SHA-256(password + salt)>`, a format its `passwd_check` verifies (any hashlib
/// algorithm, the salt appended to the UTF-8 password). A value that is already a hash (`argon2:…` or
/// `sha1|sha256|sha512:<hex salt>:<hex digest>`) is taken as it is, so that a user can keep the clear text out of the
/// custom resource too.
public enum PasswordHash {
    /// Hex digits of a new salt (48 random bits, as jupyter_server's own).
    static let saltLength = 12

    /// The hash to store for `password`: `current` again when it already is that password's hash (a stable salt, so
    /// that reconciling does not roll the pod), the value itself when it is a hash, else a new salted hash.
    /// - Parameters:
    ///   - password: `auth.password` of the spec.
    ///   - current: The hash stored in the notebook's Secret, if any.
    public static func forPassword(_ password: String, current: String?) -> String {
        if isHash(password) { return password }
        if let current, verify(password, against: current) { return current }
        return make(password, salt: newSalt())
    }

    /// `sha256:<salt>:<digest>` of `password` with `salt`.
    public static func make(_ password: String, salt: String) -> String {
        let digest = SHA256.hash(data: Array(password.utf8) + Array(salt.utf8))
        return "sha256:\(salt):\(hex(digest))"
    }

    /// Whether `hash` is a SHA-256 hash of ours that matches `password` (other formats: false).
    public static func verify(_ password: String, against hash: String) -> Bool {
        let parts = hash.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "sha256", !parts[1].isEmpty else { return false }
        return make(password, salt: String(parts[1])) == hash
    }

    /// Whether `value` has the shape of a jupyter_server password hash.
    public static func isHash(_ value: String) -> Bool {
        if value.hasPrefix("argon2:$argon2") { return true }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, ["sha1", "sha256", "sha512"].contains(String(parts[0])) else { return false }
        let digest: [String: Int] = ["sha1": 40, "sha256": 64, "sha512": 128]
        return !parts[1].isEmpty && parts[1].allSatisfy(\.isHexDigit)
            && parts[2].count == digest[String(parts[0])] && parts[2].allSatisfy(\.isHexDigit)
    }

    static func newSalt() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = String(generator.next() as UInt64, radix: 16)
        return String((String(repeating: "0", count: 16 - digits.count) + digits).suffix(saltLength))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}
