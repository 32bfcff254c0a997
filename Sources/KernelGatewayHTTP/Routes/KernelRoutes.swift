import Hummingbird
import HummingbirdWebSocket
import KernelGateway

/// `/api/kernels` and its sub-resources (PROTOCOL.md §1).
///
/// Every handler only translates: it reads the request, calls ``KernelManager`` with the caller's identity, and
/// encodes the result as ``KernelJSON``. Errors are the manager's ``GatewayError``s, turned into statuses in one
/// place (``APIError/init(_:)``): an unknown kernel, or one the caller may not see, is a 404 either way.
struct KernelRoutes {
    /// Starts, finds and stops kernels; checks who may see which.
    let manager: KernelManager
    /// `listKernels` (`--list-kernels`), `maxBodySize` and the base path for `Location` headers.
    let settings: HTTPServerConfiguration

    /// Adds the routes to `group` (the router under `base_url`):
    /// - `GET api/kernels` (`?user=` narrows to one user's): 403 when listing is disabled;
    /// - `POST api/kernels` with `{"name", "env", "path"}`: 201 with a `Location`; a start whose client hung up is
    ///   cancelled (see ``ClientDisconnect``);
    /// - `GET` / `DELETE api/kernels/{id}`, `POST api/kernels/{id}/interrupt` and `…/restart`.
    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("api/kernels") { request, context -> Response in
            guard settings.listKernels else { throw APIError(.forbidden, "Listing kernels is disabled") }
            let user = request.uri.queryParameters.get("user")
            return try jsonResponse(await manager.models(user: user, visibleTo: context.identity).map(KernelJSON.init))
        }
        group.post("api/kernels") { request, context -> Response in
            let body = try await readJSONObject(request, limit: settings.maxBodySize)
            let start = StartRequest(
                kernelName: try BodyField.optionalString(body, "name"),
                environment: try BodyField.environment(body),
                path: try BodyField.optionalString(body, "path"),
                requester: context.identity)
            let model = try await ClientDisconnect.cancelling(ifGone: context.channel) { try await manager.start(start) }
            return try jsonResponse(KernelJSON(model), status: .created,
                                    headers: [.location: settings.basePath + "api/kernels/" + model.id])
        }
        group.get("api/kernels/{id}") { _, context -> Response in
            let kernel = try await manager.kernel(try context.parameters.require("id"), visibleTo: context.identity)
            return try jsonResponse(KernelJSON(kernel.model()))
        }
        group.delete("api/kernels/{id}") { _, context -> Response in
            try await manager.shutdown(try context.parameters.require("id"), as: context.identity, reason: "Kernel deleted")
            return Response(status: .noContent)
        }
        group.post("api/kernels/{id}/interrupt") { _, context -> Response in
            try await manager.interrupt(try context.parameters.require("id"), as: context.identity)
            return Response(status: .noContent)
        }
        group.post("api/kernels/{id}/restart") { _, context -> Response in
            let model = try await manager.restart(try context.parameters.require("id"), as: context.identity)
            return try jsonResponse(KernelJSON(model))
        }
    }
}
