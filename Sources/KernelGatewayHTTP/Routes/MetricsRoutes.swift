import Hummingbird
import KernelGateway

/// `GET /metrics`: the gateway's metrics in the Prometheus text format. On the main port it sits behind the token
/// like every API route and is for admins only (a user's token gets 403: the counts span every user); the
/// `--metrics-port` listener serves it without a token (see ``MetricsServer``).
struct MetricsRoutes {
    let manager: KernelManager
    let exposition: MetricsExposition
    /// Whether the requester must be an admin (the main port).
    let adminOnly: Bool

    func register<Context: RequestContext>(on group: RouterGroup<Context>, identity: @escaping @Sendable (Context) -> UserIdentity) {
        group.get("metrics") { _, context -> Response in
            if adminOnly, !identity(context).isAdmin { throw APIError(.forbidden, "Metrics are for the gateway's admins") }
            return Response(status: .ok, headers: [.contentType: MetricsExposition.contentType],
                            body: .init(byteBuffer: await exposition.render(manager: manager)))
        }
    }
}
