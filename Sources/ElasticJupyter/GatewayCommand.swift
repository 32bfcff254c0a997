import ArgumentParser
import Foundation
import KernelGateway
import KernelGatewayHTTP
import Logging

/// `elastic-jupyter gateway`: runs the kernel gateway. Every option is also an environment variable
/// (see `--help` or the README's table); a flag wins over the environment.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the kernel gateway (local kernels unless a kernelspec says otherwise).")

    @Option(help: "Address to listen on (EG_IP).") var ip: String?
    @Option(help: "Port to listen on (EG_PORT).") var port: String?
    @Option(name: .customLong("base-url"), help: "Route prefix (EG_BASE_URL).") var baseURL: String?
    @Option(name: .customLong("auth-token"), help: "Required token (EG_AUTH_TOKEN); prefer --auth-token-file.") var authToken: String?
    @Option(name: .customLong("auth-token-file"), help: "File holding the token (EJ_AUTH_TOKEN_FILE).") var authTokenFile: String?
    @Option(name: .customLong("users-file"), help: "YAML file of users and token hashes (EJ_USERS_FILE).") var usersFile: String?
    @Option(name: .customLong("users-secret"), help: "Secret holding users.yaml (EJ_USERS_SECRET).") var usersSecret: String?
    @Flag(name: .customLong("allow-unauthenticated"), help: "Serve without a token, on purpose (EJ_ALLOW_UNAUTHENTICATED).")
    var allowUnauthenticated = false
    @Option(name: .customLong("client-ca"), help: "CA bundle that client certificates must chain to (EG_CLIENT_CA).") var clientCA: String?
    @Option(name: .customLong("local-hostnames"), help: "Host names accepted on a loopback bind (EJ_LOCAL_HOSTNAMES).")
    var localHostnames: String?
    @Option(name: .customLong("header-timeout"), help: "Seconds to send a request head (EJ_HEADER_TIMEOUT).") var headerTimeout: String?
    @Option(name: .customLong("idle-timeout"), help: "Seconds an idle HTTP connection is kept (EJ_IDLE_TIMEOUT).") var idleTimeout: String?
    @Option(name: .customLong("max-connections"), help: "Most open connections (EJ_MAX_CONNECTIONS).") var maxConnections: String?
    @Option(name: .customLong("max-sessions"), help: "Most sessions kept (EJ_MAX_SESSIONS).") var maxSessions: String?
    @Option(name: .customLong("kernelspecs-dir"), help: "Kernelspec directory, searched first; repeatable (EJ_KERNELSPECS_DIRS).")
    var kernelspecsDirs: [String] = []
    @Option(name: .customLong("allowed-kernels"), help: "Allowed kernelspecs (EG_ALLOWED_KERNELS).") var allowedKernels: String?
    @Option(name: .customLong("default-kernel"), help: "Default kernelspec (EG_DEFAULT_KERNEL_NAME).") var defaultKernel: String?
    @Flag(name: .customLong("list-kernels"), inversion: .prefixedNo, help: "Allow listing kernels (EG_LIST_KERNELS).")
    var listKernels: Bool?
    @Option(name: .customLong("client-envs"), help: "Client variables passed besides KERNEL_* (EG_CLIENT_ENVS).") var clientEnvs: String?
    @Option(name: .customLong("inherited-envs"), help: "Gateway variables passed to kernels (EG_INHERITED_ENVS).") var inheritedEnvs: String?
    @Option(name: .customLong("root-dir"), help: "Root of kernel working directories (EJ_ROOT_DIR).") var rootDir: String?
    @Option(name: .customLong("kernel-launch-timeout"), help: "Seconds to wait for a kernel (EG_KERNEL_LAUNCH_TIMEOUT).")
    var launchTimeout: String?
    @Flag(name: .customLong("auto-restart"), inversion: .prefixedNo, help: "Restart dead kernels (EJ_AUTO_RESTART).")
    var autoRestart: Bool?
    @Option(name: .customLong("log-level"), help: "Log level (EG_LOG_LEVEL).") var logLevel: String?
    @Option(name: .customLong("log-format"), help: "Log format: text or json (EJ_LOG_FORMAT).") var logFormat: String?
    @Option(name: .customLong("metrics-port"), help: "Port serving only /metrics without a token; 0 = none (EJ_METRICS_PORT).")
    var metricsPort: String?
    @Option(help: "PEM certificate for HTTPS (EG_CERTFILE).") var certfile: String?
    @Option(help: "PEM key for HTTPS (EG_KEYFILE).") var keyfile: String?
    @Option(name: .customLong("allow-origin"), help: "CORS origin (EG_ALLOW_ORIGIN).") var allowOrigin: String?
    @Option(name: .customLong("allow-credentials"), help: "CORS credentials (EG_ALLOW_CREDENTIALS).") var allowCredentials: String?
    @Option(name: .customLong("allow-headers"), help: "CORS headers (EG_ALLOW_HEADERS).") var allowHeaders: String?
    @Option(name: .customLong("allow-methods"), help: "CORS methods (EG_ALLOW_METHODS).") var allowMethods: String?
    @Option(name: .customLong("expose-headers"), help: "CORS exposed headers (EG_EXPOSE_HEADERS).") var exposeHeaders: String?
    @Option(name: .customLong("max-age"), help: "CORS max age (EG_MAX_AGE).") var maxAge: String?
    @Option(name: .customLong("client-queue-size"), help: "Per-client send queue in messages (EJ_CLIENT_QUEUE_SIZE).")
    var clientQueueSize: String?
    @Option(name: .customLong("offline-buffer-size"), help: "Offline buffer in messages (EJ_OFFLINE_BUFFER_SIZE).")
    var offlineBufferSize: String?
    @Option(name: .customLong("memory-budget"), help: "Bytes all client queues and buffers may hold (EJ_MEMORY_BUDGET).")
    var memoryBudget: String?
    @Option(name: .customLong("kernel-memory-share"), help: "Bytes one kernel's queues and buffers may hold (EJ_KERNEL_MEMORY_SHARE).")
    var kernelMemoryShare: String?
    @Option(name: .customLong("max-kernel-message-size"), help: "Largest kernel message in bytes (EJ_MAX_KERNEL_MESSAGE_SIZE).")
    var maxKernelMessageSize: String?
    @Option(name: .customLong("max-message-size"), help: "Largest WebSocket message in bytes (EJ_MAX_MESSAGE_SIZE).")
    var maxMessageSize: String?
    @Option(name: .customLong("max-body-size"), help: "Largest request body in bytes (EJ_MAX_BODY_SIZE).") var maxBodySize: String?
    @Option(name: .customLong("ws-ping-interval"), help: "WebSocket ping interval in seconds (EG_WS_PING_INTERVAL_SECS).")
    var pingInterval: String?
    @Option(name: .customLong("cull-idle-timeout"), parsing: .unconditional, help: "Idle seconds before culling; 0 = never (EG_CULL_IDLE_TIMEOUT).")
    var cullIdleTimeout: String?
    @Option(name: .customLong("cull-interval"), help: "Seconds between culling passes (EG_CULL_INTERVAL).") var cullInterval: String?
    @Flag(name: .customLong("cull-connected"), inversion: .prefixedNo, help: "Cull connected kernels (EG_CULL_CONNECTED).")
    var cullConnected: Bool?
    @Flag(name: .customLong("cull-busy"), inversion: .prefixedNo, help: "Cull busy kernels (EJ_CULL_BUSY).") var cullBusy: Bool?
    @Option(name: .customLong("cull-max-age"), parsing: .unconditional, help: "Cull kernels older than this many seconds (EJ_CULL_MAX_AGE).") var cullMaxAge: String?
    @Option(name: .customLong("max-kernels"), help: "Most kernels at once (EG_MAX_KERNELS).") var maxKernels: String?
    @Option(name: .customLong("max-kernels-per-user"), help: "Most kernels per user (EG_MAX_KERNELS_PER_USER).")
    var maxKernelsPerUser: String?
    @Option(name: .customLong("authorized-users"), help: "Users allowed (EG_AUTHORIZED_USERS).") var authorizedUsers: String?
    @Option(name: .customLong("unauthorized-users"), help: "Users refused (EG_UNAUTHORIZED_USERS).") var unauthorizedUsers: String?
    @Option(help: "Namespace of kernel pods (EG_NAMESPACE).") var namespace: String?
    @Option(name: .customLong("gateway-name"), help: "Gateway instance name (EG_NAME).") var gatewayName: String?
    @Option(name: .customLong("replica-id"), help: "This replica's identity (EJ_REPLICA_ID).") var replicaID: String?
    @Option(name: .customLong("kernel-image"), help: "Default kernel image (EG_KERNEL_IMAGE).") var kernelImage: String?
    @Option(name: .customLong("kernel-service-account"), help: "Kernel pods' service account (EJ_KERNEL_SERVICE_ACCOUNT).")
    var kernelServiceAccount: String?
    @Option(name: .customLong("workspace-claim"), help: "Shared workspace PVC (EJ_WORKSPACE_CLAIM).") var workspaceClaim: String?
    @Option(name: .customLong("allowed-images"), help: "Image patterns KERNEL_IMAGE may name (EJ_ALLOWED_IMAGES).") var allowedImages: String?
    @Option(name: .customLong("kernel-uid-range"), help: "User ids KERNEL_UID may choose (EJ_KERNEL_UID_RANGE).") var kernelUIDRange: String?
    @Option(name: .customLong("kernel-gid-range"), help: "Group ids KERNEL_GID may choose (EJ_KERNEL_GID_RANGE).") var kernelGIDRange: String?
    @Option(name: .customLong("prohibited-uids"), help: "User ids never used (EG_PROHIBITED_UIDS).") var prohibitedUIDs: String?
    @Option(name: .customLong("prohibited-gids"), help: "Group ids never used (EG_PROHIBITED_GIDS).") var prohibitedGIDs: String?
    @Option(name: .customLong("kernel-cpu-limit"), help: "Default CPU limit of kernel pods (EJ_KERNEL_CPU_LIMIT).") var kernelCPULimit: String?
    @Option(name: .customLong("kernel-memory-limit"), help: "Default memory limit of kernel pods (EJ_KERNEL_MEMORY_LIMIT).")
    var kernelMemoryLimit: String?
    @Flag(name: .customLong("allow-local-kernels"), inversion: .prefixedNo, help: "Offer local-process kernelspecs (EJ_ALLOW_LOCAL_KERNELS).")
    var allowLocalKernels: Bool?
    @Flag(name: .customLong("shutdown-kernels-on-exit"), inversion: .prefixedNo,
          help: "Stop kernels when the gateway stops (EJ_SHUTDOWN_KERNELS_ON_EXIT; default: local yes, pods no).")
    var shutdownKernelsOnExit: Bool?
    @Option(name: .customLong("stop-handover"), help: "Seconds a stopping gateway keeps serving its clients of kernels it leaves running (EJ_STOP_HANDOVER).")
    var stopHandover: String?
    @Flag(name: .customLong("kubernetes"), inversion: .prefixedNo, help: "Use a cluster configuration when one exists (EJ_KUBERNETES).")
    var kubernetes: Bool?
    @Option(name: .customLong("runtime-dir"), help: "Directory for connection files (EJ_RUNTIME_DIR).") var runtimeDir: String?
    @Flag(name: .customLong("print-settings-table"), help: "Print the settings table (Markdown) and exit.")
    var printSettingsTable = false

    func flagValues() -> [String: String] {
        var flags: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("ip", ip), ("port", port), ("base-url", baseURL), ("auth-token", authToken), ("allowed-kernels", allowedKernels),
            ("default-kernel", defaultKernel), ("list-kernels", listKernels.map { String($0) }), ("client-envs", clientEnvs),
            ("inherited-envs", inheritedEnvs), ("root-dir", rootDir), ("kernel-launch-timeout", launchTimeout),
            ("auto-restart", autoRestart.map { String($0) }), ("log-level", logLevel), ("certfile", certfile), ("keyfile", keyfile),
            ("allow-origin", allowOrigin), ("allow-credentials", allowCredentials), ("allow-headers", allowHeaders),
            ("allow-methods", allowMethods), ("expose-headers", exposeHeaders), ("max-age", maxAge),
            ("client-queue-size", clientQueueSize), ("offline-buffer-size", offlineBufferSize), ("max-message-size", maxMessageSize),
            ("max-body-size", maxBodySize), ("ws-ping-interval", pingInterval), ("runtime-dir", runtimeDir),
            ("cull-idle-timeout", cullIdleTimeout), ("cull-interval", cullInterval), ("cull-connected", cullConnected.map { String($0) }),
            ("cull-busy", cullBusy.map { String($0) }), ("cull-max-age", cullMaxAge), ("max-kernels", maxKernels),
            ("namespace", namespace), ("gateway-name", gatewayName), ("replica-id", replicaID), ("kernel-image", kernelImage),
            ("kernel-service-account", kernelServiceAccount), ("workspace-claim", workspaceClaim), ("kubernetes", kubernetes.map { String($0) }),
            ("max-kernels-per-user", maxKernelsPerUser), ("auth-token-file", authTokenFile), ("client-ca", clientCA),
            ("allow-unauthenticated", allowUnauthenticated ? "true" : nil), ("local-hostnames", localHostnames),
            ("header-timeout", headerTimeout), ("idle-timeout", idleTimeout), ("max-connections", maxConnections),
            ("max-sessions", maxSessions), ("authorized-users", authorizedUsers), ("unauthorized-users", unauthorizedUsers),
            ("log-format", logFormat), ("metrics-port", metricsPort),
        ]
        let kernelPods: [(String, String?)] = [
            ("allowed-images", allowedImages), ("kernel-uid-range", kernelUIDRange), ("kernel-gid-range", kernelGIDRange),
            ("prohibited-uids", prohibitedUIDs), ("prohibited-gids", prohibitedGIDs), ("kernel-cpu-limit", kernelCPULimit),
            ("kernel-memory-limit", kernelMemoryLimit), ("allow-local-kernels", allowLocalKernels.map { String($0) }),
            ("shutdown-kernels-on-exit", shutdownKernelsOnExit.map { String($0) }), ("stop-handover", stopHandover),
            ("users-file", usersFile), ("users-secret", usersSecret),
        ]
        for (key, value) in pairs + kernelPods { if let value { flags[key] = value } }
        let memory: [(String, String?)] = [
            ("memory-budget", memoryBudget), ("kernel-memory-share", kernelMemoryShare), ("max-kernel-message-size", maxKernelMessageSize),
        ]
        for (key, value) in memory { if let value { flags[key] = value } }
        if !kernelspecsDirs.isEmpty { flags["kernelspecs-dir"] = kernelspecsDirs.joined(separator: ":") }
        return flags
    }

    func run() async throws {
        if printSettingsTable {
            print(GatewaySetting.markdownTable())
            return
        }
        let environment = ProcessInfo.processInfo.environment
        let resolved = SettingsResolver(flags: flagValues(), environment: environment)
        let plan: GatewayPlan
        do {
            plan = try GatewayPlan(resolved: resolved, environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        // Kernels (same user, the gateway's children) could read the token from /proc/<gateway>/environ or cmdline.
        SecretScrubber.scrubToken()
        try await plan.run()
    }
}
