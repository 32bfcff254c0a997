import Foundation
import KubernetesAPI
import NIOCore

/// An object in a list or watch that could not be decoded, and what is known about it.
public struct UndecodableObject: Sendable {
    /// The resource type it belongs to.
    public let resource: ResourceDescriptor
    /// Its metadata, when at least that could be read.
    public let metadata: ObjectMeta?
    /// Why it was refused (the decoder's message, without the object's content).
    public let reason: String
}

/// Why a list could not be read at all (as opposed to one item of it).
struct ListDecodingError: Error, CustomStringConvertible {
    let resource: ResourceDescriptor
    var description: String { "the \(resource.listKind) response is not a JSON object with an items array" }
}

/// One list page, decoded item by item: the objects that decoded, and the ones that did not.
struct ItemwiseList<Object: KubernetesObject> {
    var metadata: ListMeta
    var items: [Object]
    var undecodable: [UndecodableObject]

    /// Decodes `body` (a `…List` response) one item at a time.
    /// - Throws: ``ListDecodingError`` if the page itself has no readable `items` array.
    init(body: ByteBuffer, resource: ResourceDescriptor) throws {
        let bytes = Array(body.readableBytesView)
        let decoder = JSONDecoder()
        guard let members = JSONSlices.members(of: bytes, in: 0..<bytes.count) else { throw ListDecodingError(resource: resource) }
        metadata = members["metadata"].flatMap { try? decoder.decode(ListMeta.self, from: Data(bytes[$0])) } ?? ListMeta()
        items = []
        undecodable = []
        guard let itemsRange = members["items"] else { return }
        if bytes[itemsRange].elementsEqual("null".utf8) { return }
        guard let elements = JSONSlices.elements(of: bytes, in: itemsRange) else { throw ListDecodingError(resource: resource) }
        for element in elements {
            do {
                var object = try decoder.decode(Object.self, from: Data(bytes[element]))
                object.fillTypeMeta(apiVersion: resource.apiVersion, kind: resource.kind)
                items.append(object)
            } catch {
                let metadata = JSONSlices.members(of: bytes, in: element)?["metadata"].flatMap {
                    try? decoder.decode(ObjectMeta.self, from: Data(bytes[$0]))
                }
                undecodable.append(UndecodableObject(resource: resource, metadata: metadata, reason: Self.describe(error)))
            }
        }
    }

    /// A short reason without any of the object's content.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted:
            return "not valid JSON for this decoder (nesting deeper than it accepts, or a malformed value)"
        case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
            return "expected \(type) at \(path(context))"
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(key.stringValue) at \(path(context))"
        default:
            return "cannot be decoded"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return path.isEmpty ? "." : String(path.prefix(200))
    }
}
