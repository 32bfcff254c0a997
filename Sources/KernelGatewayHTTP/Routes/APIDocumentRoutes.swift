import Foundation
import Hummingbird
import Yams

/// `/api/swagger.yaml` and `/api/swagger.json`: the OpenAPI document of every route the gateway serves (written
/// by hand, compiled into the binary). Behind the token like the rest of `/api` (Enterprise Gateway serves its
/// own openly; here the document names nothing secret, but one rule for `/api` is simpler to reason about).
struct APIDocumentRoutes {
    /// The document as written (YAML).
    static let yaml = String(decoding: PackageResources.gateway_openapi_yaml, as: UTF8.self)

    /// The same document as JSON, converted once.
    static let json: Data = {
        guard let object = try? Yams.load(yaml: yaml),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return Data("{}".utf8) }
        return data
    }()

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("api/swagger.yaml") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: Self.yaml)))
        }
        group.get("api/swagger.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Self.json)))
        }
    }
}
