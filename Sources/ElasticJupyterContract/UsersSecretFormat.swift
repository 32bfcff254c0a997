import Crypto
import Foundation

/// The users file (`users.yaml`, in the Secret the controller writes and the gateway reads): the parts both
/// sides must compute alike.
public enum UsersSecretFormat {
    /// The lower-case hex SHA-256 of a token's UTF-8 bytes (what `sha256sum` prints for the token without a
    /// newline): an entry's `tokenSHA256`, so the Secret never holds the token itself.
    public static func tokenHash(_ token: String) -> String {
        SHA256Hex.of(token)
    }
}

/// Lower-case hex SHA-256 of a string's UTF-8 bytes.
enum SHA256Hex {
    static func of(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }
}
