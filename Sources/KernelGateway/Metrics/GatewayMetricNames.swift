/// The gateway's metric names, with their Prometheus type and help text: one table, read by the exposition
/// (`# HELP` / `# TYPE` lines) and by the tests. Every label value of these metrics comes from a small fixed set
/// (or the kernelspec catalog): never a kernel id, a user name or other client text.
public enum GatewayMetricNames {
    /// Kernels by `state` (``KernelStateLabel``) and `kernelspec`; set at each scrape.
    public static let kernels = "elastic_jupyter_gateway_kernels"
    /// Kernel starts by `provisioner` (`local`, `kubernetes`) and `result` (`success`, `failure`).
    public static let starts = "elastic_jupyter_gateway_kernel_starts_total"
    /// Seconds from a start request to a kernel that answers, by `provisioner` (successful starts).
    public static let startSeconds = "elastic_jupyter_gateway_kernel_start_seconds"
    /// Failed starts by `provisioner` and `reason` (``StartFailure/metricReason``).
    public static let startFailures = "elastic_jupyter_gateway_kernel_start_failures_total"
    /// Culled kernels by `reason` (``CullReason/Kind``).
    public static let culls = "elastic_jupyter_gateway_kernel_culls_total"
    /// Restarts by `kind` (`automatic`, `requested`).
    public static let restarts = "elastic_jupyter_gateway_kernel_restarts_total"
    /// WebSocket clients attached to kernels now.
    public static let webSocketClients = "elastic_jupyter_gateway_websocket_clients"
    /// Kernel messages relayed by `direction` (`client_to_kernel`, `kernel_to_client`).
    public static let messagesRelayed = "elastic_jupyter_gateway_messages_relayed_total"
    /// WebSocket payload bytes relayed by `direction`.
    public static let bytesRelayed = "elastic_jupyter_gateway_bytes_relayed_total"
    /// WebSocket clients closed for reading too slowly, by `reason` (`queue`, `memory_budget`).
    public static let slowClientDisconnects = "elastic_jupyter_gateway_slow_client_disconnects_total"
    /// Failed Kubernetes API requests (each attempt) by `verb` and `error` (``KubernetesErrorLabel``).
    public static let kubernetesAPIErrors = "elastic_jupyter_gateway_kubernetes_api_errors_total"
    /// Seconds GPU kernels spent by execution `state` (`idle`, `busy`).
    public static let gpuKernelSeconds = "elastic_jupyter_gateway_gpu_kernel_seconds_total"

    /// Prometheus type and help text of every metric, by name.
    public static let help: [String: (type: String, text: String)] = [
        kernels: ("gauge", "Kernels by execution state and kernelspec."),
        starts: ("counter", "Kernel starts by provisioner and result."),
        startSeconds: ("histogram", "Seconds from a start request to a kernel that answers, by provisioner."),
        startFailures: ("counter", "Failed kernel starts by provisioner and reason."),
        culls: ("counter", "Culled kernels by reason."),
        restarts: ("counter", "Kernel restarts by kind (automatic or requested)."),
        webSocketClients: ("gauge", "WebSocket clients attached to kernels."),
        messagesRelayed: ("counter", "Kernel messages relayed by direction."),
        bytesRelayed: ("counter", "WebSocket payload bytes relayed by direction."),
        slowClientDisconnects: ("counter", "WebSocket clients closed for reading too slowly, by reason."),
        kubernetesAPIErrors: ("counter", "Failed Kubernetes API requests (each attempt) by verb and error."),
        gpuKernelSeconds: ("counter", "Seconds kernels that request a GPU spent idle or busy."),
    ]

    /// Upper bounds (seconds) of the start latency histogram: local processes take about a second, pods from
    /// seconds (image cached) to minutes (image pulled, node scaled up).
    public static let startSecondsBuckets: [Double] = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300]
}
