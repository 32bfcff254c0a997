import Crypto
import JupyterProtocol
import Testing

@Suite("MessageSigner")
struct MessageSignerTests {
    @Test("hmac-sha256 signature is lowercase hex of HMAC over the four JSON parts")
    func sha256() throws {
        let parts = sampleParts(buffers: [[1, 2, 3]])
        let key = Array(utf8: "secret")
        let signer = try MessageSigner(key: key)
        let mac = HMAC<SHA256>.authenticationCode(for: parts.header + parts.parentHeader + parts.metadata + parts.content,
                                                  using: SymmetricKey(data: key))
        let hex = mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(signer.sign(parts) == Array(hex.utf8))
        #expect(signer.sign(parts).count == 64)
        #expect(signer.verify(signature: Array(hex.utf8), parts: parts))
        #expect(!signer.verify(signature: Array(hex.uppercased().utf8), parts: parts))
        #expect(!signer.verify(signature: [], parts: parts))
        #expect(!signer.verify(signature: Array(hex.utf8.dropLast()), parts: parts))
        // Buffers are not signed.
        var other = parts
        other.buffers = []
        #expect(signer.sign(other) == signer.sign(parts))
        // Signing is repeatable (the keyed state is copied, not consumed).
        #expect(signer.sign(parts) == signer.sign(parts))
    }

    @Test("other schemes and digest lengths", arguments: [("hmac-sha256", 64), ("hmac-sha384", 96), ("hmac-sha512", 128),
                                                          ("hmac-sha1", 40), ("hmac-md5", 32)])
    func schemes(scheme: String, hexLength: Int) throws {
        let signer = try MessageSigner(key: "k", scheme: scheme)
        #expect(signer.sign(sampleParts()).count == hexLength)
        #expect(signer.scheme == scheme)
    }

    @Test("unknown schemes throw, even with an empty key", arguments: ["hmac-sha3", "sha256", "", "HMAC-SHA256"])
    func unknownScheme(scheme: String) {
        #expect(throws: ProtocolError.unknownSignatureScheme(scheme)) { try MessageSigner(key: [1], scheme: scheme) }
        #expect(throws: ProtocolError.unknownSignatureScheme(scheme)) { try MessageSigner(key: [], scheme: scheme) }
    }

    @Test("empty key: no signing, any signature accepted")
    func emptyKey() throws {
        let signer = try MessageSigner(key: [])
        #expect(!signer.isSigning)
        #expect(signer.sign(sampleParts()).isEmpty)
        #expect(signer.verify(signature: [], parts: sampleParts()))
        #expect(signer.verify(signature: Array(utf8: "whatever"), parts: sampleParts()))
    }
}

@Suite("WireCodec errors")
struct WireCodecErrorTests {
    @Test("missing delimiter and too few frames")
    func errors() throws {
        let signer = try MessageSigner(key: Array(utf8: "k"))
        let frames = WireCodec.encode(sampleParts(), identities: [Array(utf8: "id")], signer: signer)
        #expect(throws: ProtocolError.missingDelimiter) { try WireCodec.decode(frames.filter { $0 != WireCodec.delimiter }, signer: signer) }
        #expect(throws: ProtocolError.missingDelimiter) { try WireCodec.decode([], signer: signer) }
        #expect(throws: ProtocolError.tooFewFrames) { try WireCodec.decode(Array(frames.dropLast()), signer: signer) }
        #expect(throws: ProtocolError.tooFewFrames) { try WireCodec.decode([WireCodec.delimiter], signer: signer) }
        let decoded = try WireCodec.decode(frames, signer: signer)
        #expect(decoded.identities == [Array(utf8: "id")])
        #expect(decoded.parts == sampleParts())
    }

    @Test("an unsigned message is rejected when a key is set")
    func unsigned() throws {
        let frames = WireCodec.encode(sampleParts(), signer: try MessageSigner(key: []))
        #expect(throws: ProtocolError.badSignature) { try WireCodec.decode(frames, signer: try MessageSigner(key: [1])) }
    }

    @Test("the first delimiter splits identities")
    func firstDelimiter() throws {
        let signer = try MessageSigner(key: [])
        var parts = sampleParts()
        parts.buffers = [WireCodec.delimiter]
        let decoded = try WireCodec.decode(WireCodec.encode(parts, identities: [[9]], signer: signer), signer: signer)
        #expect(decoded.identities == [[9]])
        #expect(decoded.parts.buffers == [WireCodec.delimiter])
    }
}
