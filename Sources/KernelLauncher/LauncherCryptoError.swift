/// Why the gateway's launcher key pair could not be made, read or written.
public enum LauncherKeyError: Error, Equatable, CustomStringConvertible {
    /// The PEM text is not an RSA private key of at least 2048 bits.
    case invalidPEM(String)
    /// The key file could not be read or written.
    case file(path: String, reason: String)
    /// Key generation failed in the crypto library.
    case generation(String)

    public var description: String {
        switch self {
        case .invalidPEM(let reason): "not an RSA private key of 2048 bits or more: \(reason)"
        case .file(let path, let reason): "launcher key file \(path): \(reason)"
        case .generation(let reason): "RSA key generation failed: \(reason)"
        }
    }
}

/// Why a launcher's response payload was refused. Every case is a hostile or broken input, never a gateway fault;
/// ``description`` never contains key material.
public enum LaunchPayloadError: Error, Equatable, CustomStringConvertible {
    /// Empty, or larger than the listener's byte limit.
    case size(Int)
    /// The outer layer is not base64.
    case notBase64
    /// The decoded payload is not a JSON object with `key` and `conn_info` strings.
    case notJSON
    /// A payload version this gateway does not speak (`nil`: no `version` field, the pre-1 launchers' format).
    case unsupportedVersion(Int?)
    /// The wrapped AES key or the connection info could not be decrypted with the gateway's key (wrong public key,
    /// tampering or garbage): one error for every such failure, so that a sender learns nothing about which step failed.
    case undecryptable
    /// The decrypted connection info is not a valid connection file for a kernel this gateway can reach.
    case invalidConnectionInfo(String)

    public var description: String {
        switch self {
        case .size(let bytes): "payload of \(bytes) bytes (empty or over the limit)"
        case .notBase64: "payload is not base64"
        case .notJSON: "payload is not a JSON object with string fields key and conn_info"
        case .unsupportedVersion(let version):
            if let version { "payload version \(version) is not supported (version 1 is: EG 3.x, gateway_provisioners 0.x)" }
            else { "payload has no version: launchers older than Enterprise Gateway 2.0 are not supported, update the kernel image" }
        case .undecryptable: "payload cannot be decrypted with this gateway's key"
        case .invalidConnectionInfo(let reason): "decrypted connection info refused: \(reason)"
        }
    }
}
