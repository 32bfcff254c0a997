import JupyterProtocol
import Testing

@Suite("Wire format against jupyter_client.Session")
struct WireGoldenTests {
    @Test("encode produces byte-identical signed frames")
    func encodeMatchesSession() throws {
        let file = try Golden.wire
        #expect(file.cases.count >= 20)
        for vector in file.cases {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            let frames = WireCodec.encode(vector.parts.messageParts, identities: vector.identities.map(bytes), signer: signer)
            #expect(frames == vector.frames.map(bytes), "\(vector.name)")
            #expect(signer.sign(vector.parts.messageParts) == bytes(vector.signature), "\(vector.name)")
        }
    }

    @Test("decode splits identities and parts and accepts the signature")
    func decodeMatchesSession() throws {
        for vector in try Golden.wire.cases {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            let decoded = try WireCodec.decode(vector.frames.map(bytes), signer: signer)
            #expect(decoded.identities == vector.identities.map(bytes), "\(vector.name)")
            #expect(decoded.parts == vector.parts.messageParts, "\(vector.name)")
            #expect(signer.verify(signature: bytes(vector.signature), parts: decoded.parts), "\(vector.name)")
        }
    }

    @Test("empty key gives an empty signature")
    func emptyKeySignature() throws {
        let unsigned = try Golden.wire.cases.filter { $0.key.isEmpty }
        #expect(!unsigned.isEmpty)
        for vector in unsigned {
            #expect(vector.signature.isEmpty)
            let signer = try MessageSigner(key: [], scheme: vector.scheme)
            #expect(signer.sign(vector.parts.messageParts).isEmpty)
        }
    }

    @Test("tampered content or signature is rejected")
    func tamperingIsDetected() throws {
        for vector in try Golden.wire.cases where !vector.key.isEmpty {
            let signer = try MessageSigner(key: bytes(vector.key), scheme: vector.scheme)
            var frames = vector.frames.map(bytes)
            let delimiter = try #require(frames.firstIndex(of: WireCodec.delimiter))
            frames[delimiter + 5].append(UInt8(ascii: " "))
            #expect(throws: ProtocolError.badSignature) { try WireCodec.decode(frames, signer: signer) }

            var badSignature = vector.frames.map(bytes)
            badSignature[delimiter + 1][0] ^= 0x01
            #expect(throws: ProtocolError.badSignature) { try WireCodec.decode(badSignature, signer: signer) }

            // Buffers are not signed.
            var extraBuffer = vector.frames.map(bytes)
            extraBuffer.append([1, 2, 3])
            #expect(try WireCodec.decode(extraBuffer, signer: signer).parts.buffers.last == [1, 2, 3])
        }
    }
}
