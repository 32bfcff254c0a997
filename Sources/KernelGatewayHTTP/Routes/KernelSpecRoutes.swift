import Foundation
import Hummingbird
import HummingbirdWebSocket
import KernelGateway

/// `/api/kernelspecs` and the kernelspec resource files under `/kernelspecs/{name}/{file}`.
struct KernelSpecRoutes {
    let manager: KernelManager
    var catalog: KernelSpecCatalog { manager.catalog }
    let settings: HTTPServerConfiguration

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("api/kernelspecs") { request, context -> Response in
            let user = request.uri.queryParameters.get("user")
            let specs = manager.visibleSpecs().filter {
                (user == nil || manager.allows(user: user, spec: $0.value)) && context.identity.mayStart(kernelSpec: $0.key)
            }
            let models = specs.mapValues { KernelSpecJSON($0, basePath: settings.basePath) }
            return try jsonResponse(KernelSpecsJSON(default: catalog.defaultKernelName, kernelspecs: models))
        }
        group.get("api/kernelspecs/{name}") { request, context -> Response in
            let name = try context.parameters.require("name")
            guard let spec = manager.visibleSpec(named: name) ?? manager.visibleSpec(named: name.lowercased()),
                  context.identity.mayStart(kernelSpec: spec.name)
            else {
                throw GatewayError.noSuchKernelSpec(name: name)
            }
            if let user = request.uri.queryParameters.get("user"), !manager.allows(user: user, spec: spec) {
                throw GatewayError.userNotAuthorized(user: user, kernelSpec: spec.displayName)
            }
            return try jsonResponse(KernelSpecJSON(spec, basePath: settings.basePath))
        }
        group.get("kernelspecs/{name}/**") { _, context -> Response in
            let name = try context.parameters.require("name")
            let file = context.parameters.getCatchAll().joined(separator: "/")
            guard let path = catalog.resourcePath(kernel: name, file: file),
                  let data = FileManager.default.contents(atPath: path)
            else { throw APIError(.notFound, "Kernel spec resource not found") }
            return Response(
                status: .ok,
                headers: [.contentType: Self.contentType(for: path), .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    static func contentType(for path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "png": return "image/png"
        case "svg": return "image/svg+xml"
        case "js": return "application/javascript"
        case "css": return "text/css"
        case "json": return "application/json"
        default: return "application/octet-stream"
        }
    }
}
