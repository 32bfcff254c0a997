import Foundation
import Hummingbird
import JupyterProtocol
import KernelGateway

/// The kernel model as JSON (`last_activity` exactly `%Y-%m-%dT%H:%M:%S.%fZ`).
struct KernelJSON: Encodable {
    var id: String
    var name: String
    var last_activity: String
    var execution_state: String
    var connections: Int
    var reason: String?

    init(_ model: KernelModel) {
        id = model.id
        name = model.name
        last_activity = JupyterDate.format(model.lastActivity)
        execution_state = model.executionState
        connections = model.connections
        reason = model.reason
    }
}

/// A kernelspec as JSON: `{name, spec, resources}`.
struct KernelSpecJSON: Encodable {
    var name: String
    var spec: JSONValue
    var resources: [String: String]

    init(_ spec: KernelSpec, basePath: String) {
        name = spec.name
        self.spec = spec.specJSON
        var resources: [String: String] = [:]
        for file in spec.resourceFiles {
            let url = basePath + "kernelspecs/" + Self.escape(spec.name) + "/" + Self.escape(file)
            if file == "kernel.js" || file == "kernel.css" {
                resources[file] = url
            } else if file.hasPrefix("logo-") {
                resources[(file as NSString).deletingPathExtension] = url
            }
        }
        self.resources = resources
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? component
    }
}

/// `GET /api/kernelspecs`.
struct KernelSpecsJSON: Encodable {
    var `default`: String
    var kernelspecs: [String: KernelSpecJSON]
}

/// Encodes a value as a JSON response.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = try encoder.encode(value)
    var headers = headers
    headers[.contentType] = "application/json"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Reads a JSON object body: nil for an empty body, 400 for anything that is not strict JSON (RFC 8259: no
/// trailing commas, no comments) or not an object, 413 over the limit — at once when `Content-Length`
/// announces it, otherwise as soon as the limit is passed, never after reading the whole body.
func readJSONObject(_ request: Request, limit: Int) async throws -> [String: Any]? {
    if let announced = request.headers[.contentLength].flatMap({ Int($0) }), announced > limit {
        throw APIError(.contentTooLarge, "Request body exceeds the limit of \(limit) bytes", headers: [.connection: "close"])
    }
    var request = request
    let buffer: ByteBuffer
    do {
        buffer = try await request.collectBody(upTo: limit)
    } catch {
        throw APIError(.contentTooLarge, "Request body exceeds the limit of \(limit) bytes", headers: [.connection: "close"])
    }
    let bytes = Array(buffer.readableBytesView)
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return nil }
    guard String(validating: bytes, as: UTF8.self) != nil else {
        throw APIError(.badRequest, "Invalid JSON in body of request: not UTF-8")
    }
    // Foundation's parser is lenient (trailing commas pass): the protocol's strict scanner decides validity.
    do {
        _ = try JSONValue.parse(bytes)
    } catch {
        throw APIError(.badRequest, "Invalid JSON in body of request")
    }
    let object: Any
    do {
        object = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        throw APIError(.badRequest, "Invalid JSON in body of request")
    }
    guard let dictionary = object as? [String: Any] else {
        throw APIError(.badRequest, "The body of the request must be a JSON object")
    }
    return dictionary
}

/// Typed accessors that refuse wrong shapes with a 400 naming the field.
enum BodyField {
    static func optionalString(_ body: [String: Any]?, _ key: String) throws -> String? {
        guard let value = body?[key], !(value is NSNull) else { return nil }
        guard let string = value as? String, !(value is NSNumber) else {
            throw APIError(.badRequest, "Field '\(key)' must be a string")
        }
        return string
    }

    static func optionalObject(_ body: [String: Any]?, _ key: String) throws -> [String: Any]? {
        guard let value = body?[key], !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw APIError(.badRequest, "Field '\(key)' must be a JSON object")
        }
        return object
    }

    /// Whether a session's `kernel` object asks for a new kernel (it names no existing `id`).
    static func isNewKernel(_ kernel: [String: Any]?) -> Bool {
        (try? optionalString(kernel, "id")) == nil
    }

    static func environment(_ body: [String: Any]?) throws -> [String: String]? {
        guard let env = try optionalObject(body, "env") else { return nil }
        var result: [String: String] = [:]
        for (name, value) in env {
            guard let string = value as? String, !(value is NSNumber) else {
                throw APIError(.badRequest, "Environment variable '\(String(name.prefix(100)))' value must be a string")
            }
            result[name] = string
        }
        return result
    }
}
