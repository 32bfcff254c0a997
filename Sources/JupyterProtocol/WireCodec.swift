/// ZeroMQ wire format: `[identities..., "<IDS|MSG>", signature, header, parent, metadata, content, buffers...]`.
public enum WireCodec {
    /// The delimiter frame separating routing identities from the message.
    public static let delimiter: [UInt8] = Array("<IDS|MSG>".utf8)

    /// Builds the multipart frames of a message, signing its JSON parts.
    /// - Parameters:
    ///   - parts: The message. Its byte arrays are shared, not copied.
    ///   - identities: Routing identities to put before the delimiter.
    ///   - signer: The signer for the kernel's key.
    /// - Returns: The frames to send with one multipart send.
    public static func encode(_ parts: MessageParts, identities: [[UInt8]] = [], signer: MessageSigner) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        frames.reserveCapacity(identities.count + 6 + parts.buffers.count)
        frames.append(contentsOf: identities)
        frames.append(delimiter)
        frames.append(signer.sign(parts))
        frames.append(parts.header)
        frames.append(parts.parentHeader)
        frames.append(parts.metadata)
        frames.append(parts.content)
        frames.append(contentsOf: parts.buffers)
        return frames
    }

    /// Splits a multipart message at its first delimiter and verifies the signature.
    /// - Parameters:
    ///   - frames: The received frames.
    ///   - signer: The signer for the kernel's key.
    /// - Returns: The routing identities and the message parts.
    /// - Throws: ``ProtocolError/missingDelimiter``, ``ProtocolError/tooFewFrames`` or ``ProtocolError/badSignature``.
    public static func decode(_ frames: [[UInt8]], signer: MessageSigner) throws(ProtocolError) -> (identities: [[UInt8]], parts: MessageParts) {
        guard let delimiterIndex = frames.firstIndex(of: delimiter) else { throw .missingDelimiter }
        let first = delimiterIndex + 1
        guard frames.count - first >= 5 else { throw .tooFewFrames }
        let parts = MessageParts(
            header: frames[first + 1],
            parentHeader: frames[first + 2],
            metadata: frames[first + 3],
            content: frames[first + 4],
            buffers: Array(frames[(first + 5)...])
        )
        guard signer.verify(signature: frames[first], parts: parts) else { throw .badSignature }
        return (Array(frames[..<delimiterIndex]), parts)
    }
}
