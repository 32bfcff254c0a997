import KubernetesAPI

extension NotebookRenderer {
    /// jupyter_server's gateway client settings that keep a kernel reconnect short when a gateway replica stops
    /// (rolling update, crash, eviction). Defaults only: a variable the notebook's template sets is kept.
    ///
    /// jupyter_server (`gateway/connections.py`) re-opens a kernel WebSocket the gateway closed, waiting
    /// `min(RETRY_INTERVAL * 2^n, RETRY_INTERVAL_MAX)` plus 0.1-1 s of jitter before attempt `n`, for at most
    /// `RETRY_MAX` attempts in a row (a successful connect resets the count). Its defaults (1 s, 30 s, 5) give up
    /// after about 31 s and wait up to 16 s between the late attempts. With 1 s, 5 s and 20 attempts a stopped
    /// replica costs about a second (the Service already routes to a ready one: `maxUnavailable: 0`), and a
    /// gateway that is away longer (a single replica restarting, an image pull) is retried every 5-6 s for at
    /// least 94 s (1 + 2 + 4 + 17 x 5 s).
    static let reconnectDefaults: [(name: String, value: String)] = [
        ("JUPYTER_GATEWAY_RETRY_INTERVAL", "1.0"),
        ("JUPYTER_GATEWAY_RETRY_INTERVAL_MAX", "5.0"),
        ("JUPYTER_GATEWAY_RETRY_MAX", "20"),
        // TCP connect (and TLS handshake) only; a kernel start is bounded by the request timeout. A connect to an
        // address that vanished gives up after 10 s instead of 40 s and the next attempt finds a live replica.
        ("JUPYTER_GATEWAY_CONNECT_TIMEOUT", "10.0"),
    ]

    /// `env` with the reconnect defaults the container does not set itself appended.
    static func addingReconnectDefaults(to env: [KubeJSON]) -> [KubeJSON] {
        let present = Set(env.compactMap { $0["name"]?.stringValue })
        return env + reconnectDefaults.filter { !present.contains($0.name) }.map { KubeJSON.env($0.name, $0.value) }
    }
}
