import Foundation
import Hummingbird
import KernelGateway
import Logging
import Testing
import Yams
import ZeroMQ
@testable import KernelGatewayHTTP

/// The hand-written OpenAPI document (`/api/swagger.yaml`) against the router: every route the gateway serves
/// is documented with its method, and the document describes no route the gateway does not serve.
@Suite struct OpenAPIDocumentTests {
    static func router() -> Router<GatewayRequestContext> {
        let logger = Logger(label: "test")
        let catalog = KernelSpecCatalog(configuration: .init(searchDirectories: []), logger: logger)
        let manager = KernelManager(
            catalog: catalog, provisioner: ProvisionerRouter([:]), configuration: .init(rootDirectory: "/tmp"),
            reactor: ZMQReactor(name: "openapi-test"), logger: logger)
        return GatewayServer.makeRouter(settings: HTTPServerConfiguration(), manager: manager, metrics: MetricsExposition())
    }

    /// `METHOD /path` of every operation in the document.
    static func documented() throws -> Set<String> {
        let document = try #require(try Yams.load(yaml: APIDocumentRoutes.yaml) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var operations: Set<String> = []
        for (path, item) in paths {
            for method in item.keys where ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    /// `METHOD /path` of every route registered, with `**` (a kernelspec resource's path) named as the document does.
    static func served() -> Set<String> {
        Set(router().routes.map { route in
            "\(route.method) \(route.path.description.replacingOccurrences(of: "/**", with: "/{resource}"))"
        })
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteIsServed() throws {
        let served = Self.served()
        let documented = try Self.documented()
        #expect(served.count >= 19)
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
    }

    @Test func jsonFormIsTheSameDocument() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: APIDocumentRoutes.json) as? [String: Any])
        #expect(json["openapi"] as? String == "3.0.3")
        let paths = try #require(json["paths"] as? [String: Any])
        #expect(Set(paths.keys) == Set(try Self.documented().map { String($0.split(separator: " ")[1]) }))
    }
}
