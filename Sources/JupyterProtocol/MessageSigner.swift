import Crypto

/// HMAC signing per connection info (`signature_scheme` "hmac-sha256"; empty key = no signing, empty signature).
///
/// The signature is the lowercase hex ASCII of `HMAC(key, header || parent_header || metadata || content)`;
/// buffers are never signed. The keyed HMAC state is prepared once and copied per message.
public struct MessageSigner: Sendable {
    /// The schemes accepted by ``init(key:scheme:)``.
    public static let supportedSchemes = ["hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha1", "hmac-md5"]

    private enum Keyed: Sendable {
        case none
        case sha256(HMAC<SHA256>)
        case sha384(HMAC<SHA384>)
        case sha512(HMAC<SHA512>)
        case sha1(HMAC<Insecure.SHA1>)
        case md5(HMAC<Insecure.MD5>)
    }

    private let keyed: Keyed
    /// The signature scheme in use, e.g. `hmac-sha256`.
    public let scheme: String

    /// Whether messages are signed (the key is not empty).
    public var isSigning: Bool {
        if case .none = keyed { return false }
        return true
    }

    /// Creates a signer.
    /// - Parameters:
    ///   - key: The HMAC key (the connection info `key` string as UTF-8). An empty key disables signing.
    ///   - scheme: The connection info `signature_scheme`; one of ``supportedSchemes``.
    /// - Throws: ``ProtocolError/unknownSignatureScheme(_:)`` for any other scheme (even with an empty key).
    public init(key: [UInt8], scheme: String = "hmac-sha256") throws(ProtocolError) {
        self.scheme = scheme
        let symmetric = SymmetricKey(data: key)
        let signing = !key.isEmpty
        switch scheme {
        case "hmac-sha256": keyed = signing ? .sha256(HMAC(key: symmetric)) : .none
        case "hmac-sha384": keyed = signing ? .sha384(HMAC(key: symmetric)) : .none
        case "hmac-sha512": keyed = signing ? .sha512(HMAC(key: symmetric)) : .none
        case "hmac-sha1": keyed = signing ? .sha1(HMAC(key: symmetric)) : .none
        case "hmac-md5": keyed = signing ? .md5(HMAC(key: symmetric)) : .none
        default: throw .unknownSignatureScheme(scheme)
        }
    }

    /// Creates a signer from a key string (used as UTF-8 bytes, as jupyter_client does).
    /// - Parameters:
    ///   - key: The connection info `key`.
    ///   - scheme: The connection info `signature_scheme`.
    /// - Throws: ``ProtocolError/unknownSignatureScheme(_:)`` for an unsupported scheme.
    public init(key: String, scheme: String = "hmac-sha256") throws(ProtocolError) {
        try self.init(key: Array(key.utf8), scheme: scheme)
    }

    /// Computes the signature of a message.
    /// - Parameter parts: The message; only its four JSON parts are signed.
    /// - Returns: Lowercase hex ASCII of the HMAC, or an empty array when signing is disabled.
    public func sign(_ parts: MessageParts) -> [UInt8] {
        switch keyed {
        case .none: return []
        case .sha256(let h): return Self.hexMAC(h, parts)
        case .sha384(let h): return Self.hexMAC(h, parts)
        case .sha512(let h): return Self.hexMAC(h, parts)
        case .sha1(let h): return Self.hexMAC(h, parts)
        case .md5(let h): return Self.hexMAC(h, parts)
        }
    }

    /// Checks a message's signature in constant time (with respect to the signature's content).
    /// - Parameters:
    ///   - signature: The signature frame as received (lowercase hex ASCII).
    ///   - parts: The message.
    /// - Returns: `true` if the signature matches; always `true` when signing is disabled.
    public func verify(signature: [UInt8], parts: MessageParts) -> Bool {
        if case .none = keyed { return true }
        let expected = sign(parts)
        guard expected.count == signature.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices {
            difference |= expected[index] ^ signature[index]
        }
        return difference == 0
    }

    private static func hexMAC<H: HashFunction>(_ keyed: HMAC<H>, _ parts: MessageParts) -> [UInt8] {
        var hmac = keyed
        hmac.update(data: parts.header)
        hmac.update(data: parts.parentHeader)
        hmac.update(data: parts.metadata)
        hmac.update(data: parts.content)
        let mac = hmac.finalize()
        return mac.withUnsafeBytes { raw in
            [UInt8](unsafeUninitializedCapacity: raw.count * 2) { out, initialized in
                var index = 0
                for byte in raw {
                    out[index] = hexDigits[Int(byte >> 4)]
                    out[index + 1] = hexDigits[Int(byte & 0x0F)]
                    index += 2
                }
                initialized = index
            }
        }
    }
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
