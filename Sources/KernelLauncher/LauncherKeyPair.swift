import Crypto
import CryptoExtras
import Foundation

/// The gateway's RSA key pair for the kernel-launcher response protocol: launchers wrap the AES key of their payload
/// with its public key (RSA PKCS#1 v1.5); only the private key unwraps it.
///
/// Enterprise Gateway makes a new 1024-bit pair per process; this one is 2048 bits and can be stored as PEM (a Secret
/// shared by the gateway's replicas) so that any replica decrypts what a launcher sent to it.
///
/// `@unchecked Sendable`: swift-crypto does not mark its RSA keys Sendable, but a key is immutable once made and
/// BoringSSL's RSA operations on a shared key are thread-safe.
public struct LauncherKeyPair: @unchecked Sendable {
    /// The private key.
    public let privateKey: _RSA.Encryption.PrivateKey

    /// Bits of a generated key.
    public static let keySize = 2048

    /// Wraps an existing private key.
    public init(privateKey: _RSA.Encryption.PrivateKey) {
        self.privateKey = privateKey
    }

    /// Generates a new 2048-bit pair.
    public static func generate() throws(LauncherKeyError) -> LauncherKeyPair {
        do { return LauncherKeyPair(privateKey: try _RSA.Encryption.PrivateKey(keySize: .bits2048)) } catch {
            throw .generation("\(error)")
        }
    }

    /// Reads a PEM private key (`RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`) of at least 2048 bits.
    public init(pemRepresentation pem: String) throws(LauncherKeyError) {
        guard pem.utf8.count <= 16_384 else { throw .invalidPEM("longer than 16 KiB") }
        do { privateKey = try _RSA.Encryption.PrivateKey(pemRepresentation: pem) } catch {
            throw .invalidPEM("\(error)")
        }
    }

    /// The private key as PEM (`RSA PRIVATE KEY`), for a Secret or a file.
    public var pemRepresentation: String { privateKey.pemRepresentation }

    /// The public key as the launchers take it in `--RemoteProcessProxy.public-key` / `--public-key` / `PUBLIC_KEY`:
    /// base64 of the X.509 SubjectPublicKeyInfo DER, i.e. the body of a `PUBLIC KEY` PEM without its header lines
    /// and newlines (they pass it to `RSA.importKey(b64decode(...))`).
    public var publicKeyArgument: String { privateKey.publicKey.derRepresentation.base64EncodedString() }

    /// Reads the key at `path`, or generates one and writes it there (mode 0600) when the file does not exist.
    public static func loadOrCreate(path: String) throws(LauncherKeyError) -> LauncherKeyPair {
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path), data.count <= 16_384 else {
                throw .file(path: path, reason: "unreadable or larger than 16 KiB")
            }
            return try LauncherKeyPair(pemRepresentation: String(decoding: data, as: UTF8.self))
        }
        let pair = try generate()
        let created = FileManager.default.createFile(
            atPath: path, contents: Data(pair.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600])
        guard created else { throw .file(path: path, reason: "cannot be created") }
        return pair
    }
}
