import Hummingbird
import HummingbirdWebSocket
import KernelGateway

/// `/api/kernels` and its sub-resources (PROTOCOL.md §1).
struct KernelRoutes {
    let manager: KernelManager
    let settings: HTTPServerConfiguration

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
