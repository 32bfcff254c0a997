extension KernelChannel {
    /// Resolves a channel from its UTF-8 name.
    /// - Throws: ``ProtocolError/unknownChannel(_:)`` for names that are not exposed (including `hb`),
    ///   ``ProtocolError/invalidUTF8`` if the name is not UTF-8.
    static func named(_ bytes: UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> KernelChannel {
        for channel in allCases where channel.rawValue.utf8.elementsEqual(bytes) {
            return channel
        }
        guard UTF8Validation.isValid(bytes) else { throw .invalidUTF8 }
        throw .unknownChannel(String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(64)), as: UTF8.self))
    }
}
