/// One frame of a multipart ZeroMQ message.
///
/// A Jupyter message travels as several frames (routing ids, the `<IDS|MSG>` delimiter,
/// the signature, header, parent header, metadata, content and buffers).
public typealias ZMQFrame = [UInt8]
