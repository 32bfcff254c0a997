import Foundation
import NIOHTTP1

@testable import KubernetesAPI

extension KubernetesClient {
    /// Calls a fakekube control endpoint (`/_fake/...`) with this client's credentials.
    func fakeControl(_ method: HTTPMethod, _ path: String, body: KubeJSON = [:]) async throws -> KubeJSON {
        let request = method == .GET
            ? APIRequest.get("/_fake/" + path)
            : try APIRequest.withBody(method, "/_fake/" + path, body: body)
        let response = try await send(request)
        return try JSONDecoder().decode(KubeJSON.self, from: Data(response.body.readableBytesView))
    }

    /// Creates a namespace with a random name.
    func makeTestNamespace(_ prefix: String = "it") async throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await create(.namespaces, KubeObject(.namespaces, name: name))
        return name
    }
}
