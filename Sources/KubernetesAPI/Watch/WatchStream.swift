import AsyncHTTPClient
import NIOCore
import NIOFoundationCompat

/// The events of one watch request, in order. Iterate it once.
///
/// The sequence ends when the server closes the stream (`timeoutSeconds`, or any time it likes: resume
/// from the last seen resourceVersion). It throws ``KubernetesError`` (`.gone`) for a 410 / `Expired`
/// ERROR event (re-list), `.transport` if the connection breaks, and `CancellationError` when the
/// iterating task is cancelled (which also closes the connection).
public struct WatchStream<Object: KubernetesObject>: AsyncSequence, Sendable {
    /// A watch event.
    public typealias Element = WatchEvent<Object>

    let body: HTTPClientResponse.Body
    let resource: ResourceDescriptor

    /// Makes the iterator (only once per stream).
    public func makeAsyncIterator() -> Iterator {
        Iterator(body: body.makeAsyncIterator(), resource: resource)
    }

    /// Reads chunks, splits lines, decodes events.
    public struct Iterator: AsyncIteratorProtocol {
        var body: HTTPClientResponse.Body.AsyncIterator
        let resource: ResourceDescriptor
        var lines = LineSplitter()
        var finished = false

        init(body: HTTPClientResponse.Body.AsyncIterator, resource: ResourceDescriptor) {
            self.body = body
            self.resource = resource
        }

        /// The next event, or `nil` when the server ended the watch.
        public mutating func next() async throws -> WatchEvent<Object>? {
            while true {
                if let line = lines.nextLine() {
                    if let event = try decode(line) { return event }
                    continue
                }
                if finished { return nil }
                let chunk: ByteBuffer?
                do {
                    chunk = try await body.next()
                } catch {
                    finished = true
                    if error is CancellationError || Task.isCancelled { throw CancellationError() }
                    throw KubernetesError(transportError: error)
                }
                guard let chunk else {
                    finished = true
                    if let rest = lines.finish(), let event = try decode(rest) { return event }
                    return nil
                }
                try lines.append(chunk)
            }
        }

        private mutating func decode(_ line: ByteBuffer) throws -> WatchEvent<Object>? {
            if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return nil }
            let raw: RawWatchEvent<Object>
            do {
                raw = try JSONCoding.decoder.decode(RawWatchEvent<Object>.self, from: line)
            } catch {
                finished = true
                throw KubernetesError.decodingFailure(
                    "bad watch event for \(resource): \(error): \(String(buffer: line).prefix(300))")
            }
            switch raw.event {
            case .error(let status) where status.code == 410 || status.reason == "Expired" || status.reason == "Gone":
                finished = true
                throw KubernetesError(status: status, httpCode: 410)
            case .added(var object):
                object.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
                return .added(object)
            case .modified(var object):
                object.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
                return .modified(object)
            case .deleted(var object):
                object.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
                return .deleted(object)
            case let other:
                return other
            }
        }
    }
}
