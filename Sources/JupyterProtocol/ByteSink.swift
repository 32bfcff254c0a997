/// A destination for bytes: either counts them (to size an allocation) or writes them.
///
/// Encoders write their output twice through the same generic code, once into a ``ByteCounter`` and once into
/// a ``ByteWriter`` over exactly that many uninitialized bytes, so sizes can never disagree.
protocol ByteSink {
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>)
    mutating func append(byte: UInt8)
}

extension ByteSink {
    @inline(__always)
    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    mutating func append(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    @inline(__always)
    mutating func append(_ literal: StaticString) {
        append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(utf8 string: String) {
        var string = string
        string.withUTF8 { append($0) }
    }

    @inline(__always)
    mutating func appendUInt64LE(_ value: UInt64) {
        let value = value.littleEndian
        withUnsafeBytes(of: value) { append($0.assumingMemoryBound(to: UInt8.self)) }
    }

    @inline(__always)
    mutating func appendUInt32BE(_ value: UInt32) {
        let value = value.bigEndian
        withUnsafeBytes(of: value) { append($0.assumingMemoryBound(to: UInt8.self)) }
    }
}

/// Counts bytes without storing them.
struct ByteCounter: ByteSink {
    var count = 0

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) { count += bytes.count }

    @inline(__always)
    mutating func append(byte: UInt8) { count += 1 }
}

/// Writes bytes into preallocated memory; the caller guarantees the capacity (measured with ``ByteCounter``).
struct ByteWriter: ByteSink {
    private let start: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(buffer.count > 0, "ByteWriter needs a non-empty buffer")
        start = buffer.baseAddress!
        capacity = buffer.count
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        precondition(count + bytes.count <= capacity, "ByteWriter overflow")
        (start + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    mutating func append(byte: UInt8) {
        precondition(count < capacity, "ByteWriter overflow")
        (start + count).initialize(to: byte)
        count += 1
    }
}

/// An output that can be written to any ``ByteSink``; measured first, then written into one exact allocation.
protocol ByteEncoding {
    func write<Sink: ByteSink>(to sink: inout Sink)
}

extension ByteEncoding {
    /// The encoded bytes, allocated once with the exact size.
    func makeBytes() -> [UInt8] {
        var counter = ByteCounter()
        write(to: &counter)
        let size = counter.count
        guard size > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = ByteWriter(buffer)
            write(to: &writer)
            initialized = writer.count
        }
    }

    /// The encoded bytes as a `String` (no intermediate array; invalid UTF-8 is repaired by `String`).
    func makeString() -> String {
        var counter = ByteCounter()
        write(to: &counter)
        let size = counter.count
        guard size > 0 else { return "" }
        return String(unsafeUninitializedCapacity: size) { buffer in
            var writer = ByteWriter(buffer)
            write(to: &writer)
            return writer.count
        }
    }
}

/// Calls `body` with the array's bytes, preserving the typed error.
@inline(__always)
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws(ProtocolError) -> R) throws(ProtocolError) -> R {
    let result = array.withUnsafeBufferPointer { buffer in
        Result { () throws(ProtocolError) -> R in try body(buffer) }
    }
    return try result.get()
}
