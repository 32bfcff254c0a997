import Crypto
import CryptoExtras
import Foundation
import JupyterProtocol

/// Decodes the payload a kernel launcher pushes to the response address (Enterprise Gateway 3.x and
/// gateway_provisioners 0.x, payload version 1):
///
///     base64( JSON {"version": 1, "key": base64(RSA-PKCS#1-v1.5(public key, aes_key)),
///                   "conn_info": base64(AES-ECB(aes_key, PKCS#7-pad(connection info JSON)))} )
///
/// Older launchers (no `version`: the whole stream AES-encrypted with the kernel id as key) are refused.
public struct LaunchPayloadDecoder: Sendable {
    /// The gateway's key pair.
    public let keyPair: LauncherKeyPair
    /// The payload versions understood.
    public static let supportedVersions: Set<Int> = [1]
    /// The longest connection info accepted after decryption.
    public static let maxConnectionInfoBytes = 16_384

    /// Creates a decoder for `keyPair`.
    public init(keyPair: LauncherKeyPair) {
        self.keyPair = keyPair
    }

    /// The outer JSON object; each field optional so that a missing one is told apart from a malformed one.
    private struct Envelope: Decodable {
        var version: Int?
        var key: String?
        var connInfo: String?

        enum CodingKeys: String, CodingKey {
            case version, key
            case connInfo = "conn_info"
        }
    }

    /// Decodes one payload (the whole TCP stream a launcher sent).
    public func decode(_ payload: [UInt8]) throws(LaunchPayloadError) -> LauncherResponse {
        guard let json = Self.base64(payload) else { throw .notBase64 }
        let envelope: Envelope
        do { envelope = try JSONDecoder().decode(Envelope.self, from: Data(json)) } catch {
            // Pre-1 launchers send base64 of AES ciphertext: binary, practically never valid UTF-8 (malformed JSON is).
            throw String(validating: json, as: UTF8.self) != nil ? .notJSON : .unsupportedVersion(nil)
        }
        guard let version = envelope.version, Self.supportedVersions.contains(version) else {
            throw .unsupportedVersion(envelope.version)
        }
        guard let wrappedKey = envelope.key.flatMap({ Self.base64(Array($0.utf8)) }),
              let sealed = envelope.connInfo.flatMap({ Self.base64(Array($0.utf8)) }) else {
            throw .notJSON
        }
        guard let plaintext = AESECB.decrypt(sealed, key: unwrap(wrappedKey)),
              plaintext.count <= Self.maxConnectionInfoBytes else { throw .undecryptable }
        return try LauncherConnectionInfoParser.parse(plaintext)
    }

    /// Unwraps the AES key. On any failure (bad padding, wrong length) it returns a random key instead of failing,
    /// so the caller fails later at the same place as for a wrong key: the response port is no padding oracle.
    private func unwrap(_ wrapped: [UInt8]) -> SymmetricKey {
        let modulusBytes = keyPair.privateKey.keySizeInBits / 8
        if wrapped.count == modulusBytes,
           let key = try? keyPair.privateKey.decrypt(wrapped, padding: ._WEAK_AND_INSECURE_PKCS_V1_5),
           [16, 24, 32].contains(key.count) {
            return SymmetricKey(data: key)
        }
        return SymmetricKey(size: .bits128)
    }

    /// Strict base64 (standard alphabet, padded), tolerating surrounding ASCII whitespace.
    static func base64(_ bytes: [UInt8]) -> [UInt8]? {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let start = bytes.firstIndex(where: { !isSpace($0) }), let end = bytes.lastIndex(where: { !isSpace($0) }) else {
            return nil
        }
        return Data(base64Encoded: Data(bytes[start...end])).map { Array($0) }
    }
}
