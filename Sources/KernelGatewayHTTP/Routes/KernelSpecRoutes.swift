import Foundation
import Hummingbird
import HummingbirdWebSocket
import KernelGateway

/// `/api/kernelspecs` and the kernelspec resource files under `/kernelspecs/{name}/{file}`.
///
/// A caller sees only the kernelspecs it may start (``UserIdentity/mayStart(kernelSpec:)``) among those this
/// gateway can run (pod kernelspecs only with a cluster); `?user=` further applies the kernelspec's
/// `authorized_users` / `unauthorized_users` lists, as EG does.
struct KernelSpecRoutes {
    /// Which kernelspecs are visible and whom they allow.
    let manager: KernelManager
    /// The kernelspecs on disk, with their resource files.
    var catalog: KernelSpecCatalog { manager.catalog }
    /// The base path, for the `resources` URLs of each kernelspec.
    let settings: HTTPServerConfiguration

    /// Adds `GET api/kernelspecs`, `GET api/kernelspecs/{name}` (404 for an unknown or hidden kernelspec, 403 for
    /// a `?user=` it does not authorise; a name is looked up as given, then lower-cased) and `GET kernelspecs/{name}/{file}` (a
    /// resource file such as `logo-64x64.png`, cached for an hour; 404 for any path outside the kernelspec).
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

    /// The `Content-Type` of a kernelspec resource file, by extension (logos, JS and CSS of a kernel's frontend
    /// extension); anything else is served as bytes.
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
