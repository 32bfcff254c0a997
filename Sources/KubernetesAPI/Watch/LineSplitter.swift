import NIOCore

/// Splits a byte stream into `\n`-terminated lines, whatever the chunk boundaries.
struct LineSplitter {
    private var buffer = ByteBuffer()
    /// Bytes of `buffer` (from its reader index) already searched for a newline.
    private var scanned = 0
    /// Longest accepted line.
    let maxLineBytes: Int

    init(maxLineBytes: Int = 64 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    /// Appends a chunk.
    /// - Throws: ``KubernetesError`` (`.decoding`) when an unterminated line exceeds `maxLineBytes`.
    mutating func append(_ chunk: ByteBuffer) throws {
        var chunk = chunk
        buffer.writeBuffer(&chunk)
        if buffer.readableBytes > maxLineBytes, buffer.readableBytesView.dropFirst(scanned).firstIndex(of: 0x0A) == nil {
            throw KubernetesError.decodingFailure("watch line longer than \(maxLineBytes) bytes")
        }
    }

    /// The next complete line without its terminator (`\n` or `\r\n`), or `nil` if none is complete.
    mutating func nextLine() -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(scanned).firstIndex(of: 0x0A) else {
            scanned = view.count
            return nil
        }
        let length = newline - view.startIndex
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        scanned = 0
        if line.readableBytesView.last == 0x0D { line.moveWriterIndex(to: line.writerIndex - 1) }
        if buffer.readableBytes == 0 {
            buffer.clear()
        } else if buffer.readerIndex > 1 << 16 {
            buffer.discardReadBytes()
        }
        return line
    }

    /// At end of stream: the unterminated rest, if any.
    mutating func finish() -> ByteBuffer? {
        guard buffer.readableBytes > 0 else { return nil }
        let rest = buffer.readSlice(length: buffer.readableBytes)
        buffer.clear()
        scanned = 0
        return rest
    }
}
