import Hummingbird
import HummingbirdWebSocket
import KernelGateway

/// `/api` (version), `/healthz` (alive) and `/readyz` (ready to start kernels).
///
/// `/healthz` and `/readyz` need no token (``AuthMiddleware``'s open paths): the kubelet probes them.
struct ServiceRoutes {
    /// Asked whether the gateway is ready: running kernels adopted, and not stopping.
    let manager: KernelManager

    /// The product version reported by `/api`.
    static let version = "0.1.0"

    /// Adds the three routes; `/readyz` answers 503 until the manager is ready.
    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("api") { _, _ -> Response in
            try jsonResponse(["version": Self.version, "gateway_version": Self.version, "implementation": "elastic-jupyter"])
        }
        group.get("healthz") { _, _ -> Response in
            try jsonResponse(["status": "ok"])
        }
        group.get("readyz") { _, _ -> Response in
            guard await manager.isReady else { throw APIError(.serviceUnavailable, "The gateway is not ready") }
            return try jsonResponse(["status": "ready"])
        }
    }
}
