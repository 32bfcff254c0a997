import Foundation

/// Every setting of the `gateway` command: flag, environment variables (EG's names where EG has one),
/// default and meaning. One table, used for parsing and for the README's table (`--help` shows the `@Option`
/// help strings of `GatewayCommand`, which must say the same).
struct GatewaySetting: Sendable {
    let key: String
    let flag: String
    let environment: [String]
    let defaultValue: String
    let meaning: String

    static let all: [GatewaySetting] = [
        .init(key: "ip", flag: "--ip", environment: ["EG_IP"], defaultValue: "127.0.0.1", meaning: "Address to listen on."),
        .init(key: "port", flag: "--port", environment: ["EG_PORT"], defaultValue: "8888", meaning: "Port to listen on."),
        .init(key: "base-url", flag: "--base-url", environment: ["EG_BASE_URL"], defaultValue: "/", meaning: "Prefix of every route."),
        .init(key: "auth-token", flag: "--auth-token", environment: ["EG_AUTH_TOKEN"], defaultValue: "",
              meaning: "Token clients must present (`Authorization: token T`, `Bearer T` or `?token=T`). With none given, a random one is generated and printed with the line to connect. Prefer `--auth-token-file` (argv is visible to `ps`)."),
        .init(key: "auth-token-file", flag: "--auth-token-file", environment: ["EJ_AUTH_TOKEN_FILE"], defaultValue: "",
              meaning: "File holding the token (e.g. mounted from a Secret): it is then in neither argv nor the environment."),
        .init(key: "users-file", flag: "--users-file", environment: ["EJ_USERS_FILE"], defaultValue: "",
              meaning: "YAML file of users (`users:` entries with `name`, `tokenSHA256`, optional `admin`, `kernelspecs`, `maxKernels`, `workspace`): each token is its user's; non-admins see and use only their own kernels and sessions. Re-read when it changes (checked every 2 s); a malformed file keeps the last good one. See \"Users, tokens and ownership\"."),
        .init(key: "users-secret", flag: "--users-secret", environment: ["EJ_USERS_SECRET"], defaultValue: "",
              meaning: "Secret in the gateway's namespace whose `users.yaml` is the users file, followed through a watch (a revoked token stops working at once)."),
        .init(key: "allow-unauthenticated", flag: "--allow-unauthenticated", environment: ["EJ_ALLOW_UNAUTHENTICATED"], defaultValue: "false",
              meaning: "Serve without any token, on purpose (anyone who can reach the port runs code as the gateway's user)."),
        .init(key: "client-ca", flag: "--client-ca", environment: ["EG_CLIENT_CA"], defaultValue: "",
              meaning: "PEM CA bundle: with HTTPS, clients must present a certificate it signed (mutual TLS)."),
        .init(key: "kernelspecs-dir", flag: "--kernelspecs-dir", environment: ["EJ_KERNELSPECS_DIRS"], defaultValue: "",
              meaning: "Directory of kernelspecs, searched first (flag repeatable; variable colon-separated)."),
        .init(key: "allowed-kernels", flag: "--allowed-kernels", environment: ["EG_ALLOWED_KERNELS", "EG_KERNEL_WHITELIST"], defaultValue: "",
              meaning: "Kernelspecs that may be listed and started (`a,b`, `[\"a\",\"b\"]` or `'a','b'`); empty = all."),
        .init(key: "default-kernel", flag: "--default-kernel", environment: ["EG_DEFAULT_KERNEL_NAME"], defaultValue: "python3",
              meaning: "Kernelspec started when a request names none."),
        .init(key: "list-kernels", flag: "--list-kernels / --no-list-kernels", environment: ["EG_LIST_KERNELS"], defaultValue: "true",
              meaning: "Allow `GET /api/kernels` and `GET /api/sessions` (jupyter_server polls them)."),
        .init(key: "client-envs", flag: "--client-envs", environment: ["EG_CLIENT_ENVS"], defaultValue: "",
              meaning: "Request variables passed to kernels besides `KERNEL_*` (comma-separated; `*` = all)."),
        .init(key: "inherited-envs", flag: "--inherited-envs", environment: ["EG_INHERITED_ENVS"],
              defaultValue: "PATH,HOME,LANG,LC_ALL,LC_CTYPE,TZ,TMPDIR",
              meaning: "Gateway variables passed to every kernel (comma-separated)."),
        .init(key: "root-dir", flag: "--root-dir", environment: ["EJ_ROOT_DIR"], defaultValue: "(current directory)",
              meaning: "Root of kernel working directories; a request's `path` is resolved below it, never outside."),
        .init(key: "kernel-launch-timeout", flag: "--kernel-launch-timeout", environment: ["EG_KERNEL_LAUNCH_TIMEOUT"], defaultValue: "60",
              meaning: "Seconds a kernel may take to answer its first `kernel_info_request`."),
        .init(key: "auto-restart", flag: "--auto-restart / --no-auto-restart", environment: ["EJ_AUTO_RESTART"], defaultValue: "true",
              meaning: "Restart kernels that die unexpectedly (5 failed restarts → `dead`)."),
        .init(key: "log-level", flag: "--log-level", environment: ["EG_LOG_LEVEL"], defaultValue: "info",
              meaning: "trace, debug, info, notice, warning, error or critical (EG's DEBUG/INFO/... accepted)."),
        .init(key: "log-format", flag: "--log-format", environment: ["EJ_LOG_FORMAT"], defaultValue: "text",
              meaning: "`text` (one line per event) or `json`: one JSON object per line with `time`, `level`, `label`, `message` and the metadata as string fields (control characters escaped, values cut to 512 characters, floods rate-limited, as in text)."),
        .init(key: "metrics-port", flag: "--metrics-port", environment: ["EJ_METRICS_PORT"], defaultValue: "0",
              meaning: "Port of a second listener, on the gateway's address, serving only `GET /metrics` (Prometheus text) without a token, over plain HTTP, for a scraper a NetworkPolicy admits; 0 = none. The main port serves `/metrics` too, to admins with the token."),
        .init(key: "certfile", flag: "--certfile", environment: ["EG_CERTFILE"], defaultValue: "", meaning: "PEM certificate chain: serve HTTPS."),
        .init(key: "keyfile", flag: "--keyfile", environment: ["EG_KEYFILE"], defaultValue: "", meaning: "PEM private key for HTTPS."),
        .init(key: "allow-origin", flag: "--allow-origin", environment: ["EG_ALLOW_ORIGIN"], defaultValue: "",
              meaning: "Browser origins allowed besides the gateway's own (comma-separated; `*` = any): others get 403, WebSockets included. Also `Access-Control-Allow-Origin`."),
        .init(key: "local-hostnames", flag: "--local-hostnames", environment: ["EJ_LOCAL_HOSTNAMES"], defaultValue: "",
              meaning: "On a loopback address, `Host` names accepted besides `localhost` and loopback addresses (DNS rebinding guard)."),
        .init(key: "allow-credentials", flag: "--allow-credentials", environment: ["EG_ALLOW_CREDENTIALS"], defaultValue: "", meaning: "`Access-Control-Allow-Credentials`."),
        .init(key: "allow-headers", flag: "--allow-headers", environment: ["EG_ALLOW_HEADERS"], defaultValue: "", meaning: "`Access-Control-Allow-Headers`."),
        .init(key: "allow-methods", flag: "--allow-methods", environment: ["EG_ALLOW_METHODS"], defaultValue: "", meaning: "`Access-Control-Allow-Methods`."),
        .init(key: "expose-headers", flag: "--expose-headers", environment: ["EG_EXPOSE_HEADERS"], defaultValue: "", meaning: "`Access-Control-Expose-Headers`."),
        .init(key: "max-age", flag: "--max-age", environment: ["EG_MAX_AGE"], defaultValue: "", meaning: "`Access-Control-Max-Age`."),
        .init(key: "client-queue-size", flag: "--client-queue-size", environment: ["EJ_CLIENT_QUEUE_SIZE"], defaultValue: "20000",
              meaning: "Messages queued for one WebSocket client before it is disconnected as too slow (also bounded to 32 MiB and by the kernel's memory share)."),
        .init(key: "offline-buffer-size", flag: "--offline-buffer-size", environment: ["EJ_OFFLINE_BUFFER_SIZE"], defaultValue: "10000",
              meaning: "Messages kept while no client is attached (also bounded to 32 MiB and by the kernel's memory share); oldest output dropped first, never `status`."),
        .init(key: "memory-budget", flag: "--memory-budget", environment: ["EJ_MEMORY_BUDGET"], defaultValue: "201326592",
              meaning: "Bytes all client send queues, offline buffers and held messages may hold together (192 MiB; README \"Memory\" has the arithmetic for deploy/gateway's 512 Mi). A client whose message it refuses is disconnected as too slow."),
        .init(key: "kernel-memory-share", flag: "--kernel-memory-share", environment: ["EJ_KERNEL_MEMORY_SHARE"], defaultValue: "67108864",
              meaning: "Bytes of `--memory-budget` one kernel's clients and buffers may hold together (64 MiB)."),
        .init(key: "max-kernel-message-size", flag: "--max-kernel-message-size", environment: ["EJ_MAX_KERNEL_MESSAGE_SIZE"], defaultValue: "33554432",
              meaning: "Largest message part accepted from a kernel, in bytes (32 MiB; ZeroMQ's `ZMQ_MAXMSGSIZE`): a larger one is dropped unread, the kernel's clients get a stderr notice naming the limit and the gateway reconnects to the kernel. 0 = no limit."),
        .init(key: "max-message-size", flag: "--max-message-size", environment: ["EJ_MAX_MESSAGE_SIZE"], defaultValue: "10485760",
              meaning: "Largest WebSocket message a client may send, in bytes (10 MiB, as jupyter_server's tornado)."),
        .init(key: "max-body-size", flag: "--max-body-size", environment: ["EJ_MAX_BODY_SIZE"], defaultValue: "1048576",
              meaning: "Largest REST request body accepted, in bytes (larger → 413)."),
        .init(key: "header-timeout", flag: "--header-timeout", environment: ["EJ_HEADER_TIMEOUT"], defaultValue: "10",
              meaning: "Seconds a new connection has to send a complete request head (TLS handshake included), else it is closed."),
        .init(key: "idle-timeout", flag: "--idle-timeout", environment: ["EJ_IDLE_TIMEOUT"], defaultValue: "120",
              meaning: "Seconds an HTTP connection may stay idle between requests; 0 = never closed (WebSockets have pings instead)."),
        .init(key: "max-connections", flag: "--max-connections", environment: ["EJ_MAX_CONNECTIONS"], defaultValue: "1024",
              meaning: "Most connections open at once (WebSockets included); further ones are closed at once. 0 = unlimited."),
        .init(key: "max-sessions", flag: "--max-sessions", environment: ["EJ_MAX_SESSIONS"], defaultValue: "1000",
              meaning: "Most sessions (`/api/sessions`) kept at once; beyond it a new session gets 403."),
        .init(key: "ws-ping-interval", flag: "--ws-ping-interval", environment: ["EG_WS_PING_INTERVAL_SECS"], defaultValue: "30",
              meaning: "Seconds between WebSocket pings; 0 = off."),
        .init(key: "cull-idle-timeout", flag: "--cull-idle-timeout", environment: ["EG_CULL_IDLE_TIMEOUT"], defaultValue: "0",
              meaning: "Seconds without use after which a kernel is culled (shut down); 0 or less = never. A kernelspec may override it."),
        .init(key: "cull-interval", flag: "--cull-interval", environment: ["EG_CULL_INTERVAL"], defaultValue: "60",
              meaning: "Seconds between culling passes."),
        .init(key: "cull-connected", flag: "--cull-connected / --no-cull-connected", environment: ["EG_CULL_CONNECTED"], defaultValue: "false",
              meaning: "Cull idle kernels even while a client is connected (an open tab must not hold a GPU)."),
        .init(key: "cull-busy", flag: "--cull-busy / --no-cull-busy", environment: ["EJ_CULL_BUSY"], defaultValue: "false",
              meaning: "Cull idle kernels even while busy."),
        .init(key: "cull-max-age", flag: "--cull-max-age", environment: ["EJ_CULL_MAX_AGE"], defaultValue: "0",
              meaning: "Seconds after which any kernel is culled, even an active one (as JupyterHub's culler); 0 = never."),
        .init(key: "max-kernels", flag: "--max-kernels", environment: ["EG_MAX_KERNELS"], defaultValue: "64",
              meaning: "Most kernels at once, starting ones included (64: what a small machine survives, each local kernel being a process, 5 ports and a thread); 0 = unlimited, on purpose only."),
        .init(key: "max-kernels-per-user", flag: "--max-kernels-per-user", environment: ["EG_MAX_KERNELS_PER_USER"], defaultValue: "0",
              meaning: "Most kernels per `KERNEL_USERNAME` (case-insensitive; starts without one share one anonymous bucket), starting ones included; 0 = unlimited."),
        .init(key: "authorized-users", flag: "--authorized-users", environment: ["EG_AUTHORIZED_USERS"], defaultValue: "",
              meaning: "Users allowed to start kernels (comma-separated); empty = everyone. A kernelspec's own list replaces it."),
        .init(key: "unauthorized-users", flag: "--unauthorized-users", environment: ["EG_UNAUTHORIZED_USERS"], defaultValue: "",
              meaning: "Users never allowed to start kernels; united with a kernelspec's own list."),
        .init(key: "namespace", flag: "--namespace", environment: ["EG_NAMESPACE"], defaultValue: "(the kubeconfig's or service account's namespace)",
              meaning: "Namespace of kernel pods (all kernels share it, as EG_SHARED_NAMESPACE=true)."),
        .init(key: "gateway-name", flag: "--gateway-name", environment: ["EG_NAME"], defaultValue: "elastic-jupyter",
              meaning: "This gateway instance's name: a label on its kernel pods; two gateways never touch each other's pods."),
        .init(key: "replica-id", flag: "--replica-id", environment: ["EJ_REPLICA_ID"], defaultValue: "($POD_NAME, else the host name)",
              meaning: "This replica's identity among gateway processes of one `--gateway-name`: any replica serves any kernel; the one named on a kernel's pod owns its restarts and culling, and a live replica takes over the kernels of one that is gone."),
        .init(key: "kernel-image", flag: "--kernel-image", environment: ["EG_KERNEL_IMAGE"], defaultValue: "",
              meaning: "Kernel image when neither the kernelspec nor an allowed `KERNEL_IMAGE` names one."),
        .init(key: "kernel-service-account", flag: "--kernel-service-account", environment: ["EJ_KERNEL_SERVICE_ACCOUNT"],
              defaultValue: "elastic-jupyter-kernel", meaning: "Service account of kernel pods (no API token is mounted)."),
        .init(key: "workspace-claim", flag: "--workspace-claim", environment: ["EJ_WORKSPACE_CLAIM"], defaultValue: "",
              meaning: "PersistentVolumeClaim shared with the notebooks, mounted into kernel pods at /home/jovyan/work."),
        .init(key: "allowed-images", flag: "--allowed-images", environment: ["EJ_ALLOWED_IMAGES"], defaultValue: "",
              meaning: "Image patterns a client's `KERNEL_IMAGE` may name (comma-separated; `*` any characters, `?` one; e.g. `registry.example/team/*`); empty = the kernelspec's own image only (or its `allowed_images`). Others get 400."),
        .init(key: "kernel-uid-range", flag: "--kernel-uid-range", environment: ["EJ_KERNEL_UID_RANGE"], defaultValue: "1000-65535",
              meaning: "User ids a client's `KERNEL_UID` may choose (`low-high`); others get 400. Narrow it when kernels share a volume."),
        .init(key: "kernel-gid-range", flag: "--kernel-gid-range", environment: ["EJ_KERNEL_GID_RANGE"], defaultValue: "100-65535",
              meaning: "Group ids a client's `KERNEL_GID` may choose (`low-high`); others get 400."),
        .init(key: "prohibited-uids", flag: "--prohibited-uids", environment: ["EG_PROHIBITED_UIDS"], defaultValue: "0",
              meaning: "User ids kernels never run as (comma-separated; 403). 0 is always refused."),
        .init(key: "prohibited-gids", flag: "--prohibited-gids", environment: ["EG_PROHIBITED_GIDS"], defaultValue: "0",
              meaning: "Group ids kernels never run as (comma-separated; 403). 0 is always refused."),
        .init(key: "kernel-cpu-limit", flag: "--kernel-cpu-limit", environment: ["EJ_KERNEL_CPU_LIMIT"], defaultValue: "2",
              meaning: "CPU limit of a kernel pod whose request, template and kernelspec (`limits.cpus`) set none; raised to its request. Empty = none."),
        .init(key: "kernel-memory-limit", flag: "--kernel-memory-limit", environment: ["EJ_KERNEL_MEMORY_LIMIT"], defaultValue: "2Gi",
              meaning: "Memory limit of a kernel pod whose request, template and kernelspec (`limits.memory`) set none; raised to its request. Empty = none."),
        .init(key: "allow-local-kernels", flag: "--allow-local-kernels / --no-allow-local-kernels", environment: ["EJ_ALLOW_LOCAL_KERNELS"],
              defaultValue: "(false inside a cluster, else true)",
              meaning: "Offer kernelspecs that run as local processes. Inside a cluster (`KUBERNETES_SERVICE_HOST` set) they are off unless enabled: they would run user code in the gateway's pod, under its service account."),
        .init(key: "shutdown-kernels-on-exit", flag: "--shutdown-kernels-on-exit / --no-shutdown-kernels-on-exit",
              environment: ["EJ_SHUTDOWN_KERNELS_ON_EXIT"], defaultValue: "(true for local kernels, false for pods)",
              meaning: "Whether stopping the gateway stops its kernels. By default local kernels (the gateway's children) stop and kernel pods keep running: the next gateway (or another replica) adopts them. Deleting a JupyterGateway still deletes its kernels."),
        .init(key: "stop-handover", flag: "--stop-handover", environment: ["EJ_STOP_HANDOVER"], defaultValue: "5",
              meaning: "Seconds (0-300) a stopping gateway keeps relaying for the clients of kernels it leaves running before it closes them with 1001 (going away), while it no longer takes new clients: a replica that replaces it during a rolling update is then already relaying those kernels when the clients reconnect, so it can replay what they missed. 0 closes at once."),
        .init(key: "kubernetes", flag: "--kubernetes / --no-kubernetes", environment: ["EJ_KUBERNETES"], defaultValue: "true",
              meaning: "Use a cluster configuration when one exists (in-cluster, `KUBECONFIG` or `~/.kube/config`) for pod kernelspecs."),
        .init(key: "runtime-dir", flag: "--runtime-dir", environment: ["EJ_RUNTIME_DIR"], defaultValue: "($XDG_RUNTIME_DIR, else Jupyter's runtime dir)/elastic-jupyter-<pid>",
              meaning: "Where connection files of local kernels are written (created exclusively, mode 0600, removed with the kernel). Must be this user's own directory with mode 0700 (created so if missing); otherwise the gateway refuses to start. Jupyter's runtime dir: `$JUPYTER_RUNTIME_DIR`, `$JUPYTER_DATA_DIR/runtime` or `~/.local/share/jupyter/runtime`."),
    ]

    /// The settings table as Markdown (README).
    static func markdownTable() -> String {
        var lines = ["| flag | environment | default | meaning |", "|---|---|---|---|"]
        for setting in all {
            let env = setting.environment.map { "`\($0)`" }.joined(separator: ", ")
            let value = setting.defaultValue.isEmpty ? "" : "`\(setting.defaultValue)`"
            lines.append("| `\(setting.flag)` | \(env) | \(value) | \(setting.meaning) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// Resolves settings: a flag wins over the environment, the environment over the default.
struct SettingsResolver {
    let flags: [String: String]
    let environment: [String: String]

    /// The effective value of a setting, or nil when neither flag, variable nor a real default gives one.
    func value(_ key: String) -> String? {
        if let flag = flags[key] { return flag }
        guard let setting = GatewaySetting.all.first(where: { $0.key == key }) else { return nil }
        for name in setting.environment {
            if let value = environment[name], !value.isEmpty { return value }
        }
        return setting.defaultValue.hasPrefix("(") ? nil : setting.defaultValue
    }

    func string(_ key: String) -> String { value(key) ?? "" }

    func int(_ key: String) throws -> Int {
        let text = string(key)
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw SettingsError.invalid(key: key, value: text, expected: "an integer")
        }
        return number
    }

    /// An integer setting within `range`.
    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let number = try int(key)
        guard range.contains(number) else {
            throw SettingsError.invalid(key: key, value: String(number), expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// A number of seconds: finite, from 0 to one year (`inf`, `nan` and `1e300` are refused, never converted).
    func double(_ key: String) throws -> Double {
        let text = string(key)
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite, number >= 0,
              number <= Self.largestSeconds else {
            throw SettingsError.invalid(key: key, value: text, expected: "a number of seconds from 0 to \(Int(Self.largestSeconds))")
        }
        return number
    }

    /// Like ``double(_:)``, but a negative number means 0 ("off"), as the CRD documents for culling.
    func secondsOrOff(_ key: String) throws -> Double {
        let text = string(key).trimmingCharacters(in: .whitespaces)
        if let number = Double(text), number.isFinite, number < 0 { return 0 }
        return try double(key)
    }

    /// One year: the largest number of seconds a setting accepts (as ``Seconds/largestAccepted``).
    static let largestSeconds: Double = 31_536_000

    /// A number of bytes within `range`.
    func bytes(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        let number = try int(key)
        guard range.contains(number) else {
            throw SettingsError.invalid(key: key, value: String(number), expected: "a number of bytes from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func bool(_ key: String) throws -> Bool {
        switch string(key).lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw SettingsError.invalid(key: key, value: string(key), expected: "true or false")
        }
    }

    /// A list in any of the accepted forms: `a,b`, `["a","b"]`, `'a','b'`, or space-separated.
    func list(_ key: String) -> [String] {
        Self.parseList(string(key))
    }

    static func parseList(_ text: String) -> [String] {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { trimmed = String(trimmed.dropFirst().dropLast()) }
        return trimmed
            .split(whereSeparator: { $0 == "," || $0 == " " })
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " '\"")) }
            .filter { !$0.isEmpty }
    }
}

/// A setting with a value that cannot be used.
enum SettingsError: Error, CustomStringConvertible {
    case invalid(key: String, value: String, expected: String)

    var description: String {
        switch self {
        case .invalid(let key, let value, let expected):
            return "Setting '\(key)' has the value '\(value)'; expected \(expected)."
        }
    }
}
