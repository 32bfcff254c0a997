import Crypto
import CryptoExtras

/// AES in ECB mode with PKCS#7 padding, decryption only: how the launchers encrypt the connection info
/// (`AES.new(key, AES.MODE_ECB)` over `pad(data, 16)`). Used for that compatibility alone.
enum AESECB {
    static let blockSize = 16

    /// Decrypts and unpads; `nil` when the length is not a positive multiple of the block size or the padding is bad.
    static func decrypt(_ ciphertext: [UInt8], key: SymmetricKey) -> [UInt8]? {
        guard !ciphertext.isEmpty, ciphertext.count % blockSize == 0 else { return nil }
        var plaintext = ciphertext
        var offset = 0
        while offset < plaintext.count {
            var block = plaintext[offset..<offset + blockSize]
            guard (try? AES.inversePermute(&block, key: key)) != nil else { return nil }
            plaintext.replaceSubrange(offset..<offset + blockSize, with: block)
            offset += blockSize
        }
        guard let last = plaintext.last, last >= 1, Int(last) <= blockSize,
              plaintext.suffix(Int(last)).allSatisfy({ $0 == last }) else { return nil }
        plaintext.removeLast(Int(last))
        return plaintext
    }
}
