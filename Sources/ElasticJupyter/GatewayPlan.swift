import Foundation
import KernelGateway
import KubernetesAPI
import ServiceLifecycle
import KernelGatewayHTTP
import Logging
import ZeroMQ

/// The gateway's resolved configuration and its composition: catalog, provisioner, manager, server.
struct GatewayPlan {
    var http: HTTPServerConfiguration
    var manager: KernelManagerConfiguration
    var catalog: KernelSpecCatalogConfiguration
    var runtimeDirectory: String
    var cull: CullConfiguration
    var kubernetes: (client: KubernetesConfiguration, provisioner: KubernetesProvisionerConfiguration)?
    var kubernetesProblem: String?
    var logLevel: Logger.Level
    /// How log lines look.
    var logFormat: LogFormat
    /// Port of the token-less `/metrics` listener; nil = none.
    var metricsPort: Int?
    var authToken: AuthToken
    /// Where users come from, if anywhere.
    var users: UsersPlan
    /// Whether local-process kernelspecs are offered (inside a cluster only when enabled explicitly).
    var allowLocalKernels: Bool

    init(resolved: SettingsResolver, environment: [String: String]) throws {
        logLevel = try Self.logLevel(resolved.string("log-level"))
        logFormat = try LogFormat.parse(resolved.string("log-format"))
        let port = try resolved.int("port")
        guard (0...65535).contains(port) else { throw SettingsError.invalid(key: "port", value: String(port), expected: "0-65535") }
        let metricsPort = try resolved.int("metrics-port", in: 0...65535)
        if metricsPort != 0 && metricsPort == port {
            throw SettingsError.invalid(key: "metrics-port", value: String(metricsPort), expected: "a port other than --port")
        }
        self.metricsPort = metricsPort == 0 ? nil : metricsPort
        let maxBody = try resolved.int("max-body-size")
        let maxMessage = try resolved.int("max-message-size")
        let ping = try resolved.double("ws-ping-interval")
        let certfile = resolved.string("certfile")
        let keyfile = resolved.string("keyfile")
        let clientCA = resolved.string("client-ca")
        if !clientCA.isEmpty && certfile.isEmpty {
            throw SettingsError.invalid(key: "client-ca", value: clientCA, expected: "--certfile and --keyfile as well (client certificates need TLS)")
        }
        authToken = try AuthToken.resolve(resolved)
        users = try UsersPlan(resolved)
        let host = resolved.string("ip")
        let idle = try resolved.double("idle-timeout")
        http = HTTPServerConfiguration(
            host: host, port: port, basePath: resolved.string("base-url"),
            authToken: authToken.value, listKernels: try resolved.bool("list-kernels"),
            maxBodySize: maxBody, maxMessageSize: maxMessage, pingInterval: Seconds.duration(ping),
            cors: CORSConfiguration(
                allowOrigin: resolved.string("allow-origin"), allowCredentials: resolved.string("allow-credentials"),
                allowHeaders: resolved.string("allow-headers"), allowMethods: resolved.string("allow-methods"),
                exposeHeaders: resolved.string("expose-headers"), maxAge: resolved.string("max-age")),
            certificateFile: certfile.isEmpty ? nil : certfile, keyFile: keyfile.isEmpty ? nil : keyfile,
            clientCAFile: clientCA.isEmpty ? nil : clientCA,
            browserPolicy: BrowserRequestPolicy(
                allowOrigin: resolved.string("allow-origin"), bindAddress: host, localHostnames: resolved.list("local-hostnames")),
            connectionLimits: ConnectionLimits(
                headerTimeout: Seconds.duration(max(0.1, try resolved.double("header-timeout"))),
                maxConnections: try resolved.int("max-connections", in: 0...1_000_000)),
            idleTimeout: idle > 0 ? Seconds.duration(idle) : nil,
            maxSessions: try resolved.int("max-sessions", in: 1...1_000_000))
        guard (1...(1 << 30)).contains(maxMessage) else {
            throw SettingsError.invalid(key: "max-message-size", value: String(maxMessage), expected: "1 byte to 1 GiB")
        }
        guard (1...(1 << 30)).contains(maxBody) else {
            throw SettingsError.invalid(key: "max-body-size", value: String(maxBody), expected: "1 byte to 1 GiB")
        }

        let root = resolved.value("root-dir") ?? FileManager.default.currentDirectoryPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SettingsError.invalid(key: "root-dir", value: root, expected: "an existing directory")
        }
        let launchTimeout = try resolved.double("kernel-launch-timeout")
        let stopHandover = try resolved.double("stop-handover")
        guard (0...300).contains(stopHandover) else {
            throw SettingsError.invalid(key: "stop-handover", value: String(stopHandover), expected: "0 to 300 seconds")
        }
        let offline = try resolved.int("offline-buffer-size")
        let queue = try resolved.int("client-queue-size")
        manager = KernelManagerConfiguration(
            clientEnvs: Set(resolved.list("client-envs")),
            inheritedEnvs: resolved.list("inherited-envs"),
            gatewayEnvironment: environment,
            rootDirectory: (root as NSString).standardizingPath,
            launchTimeout: Seconds.duration(launchTimeout),
            autoRestart: try resolved.bool("auto-restart"),
            offlineBufferMessages: max(1, offline),
            clientQueueMessages: max(1, queue),
            memoryBudgetBytes: try resolved.bytes("memory-budget", in: (1 << 20)...(1 << 40)),
            kernelMemoryShareBytes: try resolved.bytes("kernel-memory-share", in: (1 << 20)...(1 << 40)),
            maxKernelMessageBytes: try resolved.bytes("max-kernel-message-size", in: 0...(1 << 31)),
            limits: KernelLimits(
                maxKernels: max(0, try resolved.int("max-kernels")),
                maxKernelsPerUser: max(0, try resolved.int("max-kernels-per-user")),
                authorizedUsers: resolved.list("authorized-users").isEmpty ? nil : Set(resolved.list("authorized-users")),
                unauthorizedUsers: Set(resolved.list("unauthorized-users"))),
            shutdownKernelsOnExit: resolved.value("shutdown-kernels-on-exit") == nil ? nil : try resolved.bool("shutdown-kernels-on-exit"))
        manager.stopHandover = Seconds.duration(stopHandover)
        cull = CullConfiguration(
            idleTimeout: try resolved.secondsOrOff("cull-idle-timeout"), interval: max(0.1, try resolved.double("cull-interval")),
            cullConnected: try resolved.bool("cull-connected"), cullBusy: try resolved.bool("cull-busy"),
            maxAge: try resolved.secondsOrOff("cull-max-age"))
        let explicitDirs = resolved.string("kernelspecs-dir").split(separator: ":").map(String.init)
        let allowed = resolved.list("allowed-kernels")
        catalog = KernelSpecCatalogConfiguration(
            searchDirectories: KernelSpecCatalog.defaultSearchDirectories(
                explicit: explicitDirs, environment: environment, executablePath: CommandLine.arguments[0]),
            allowedKernels: allowed.isEmpty ? nil : Set(allowed),
            defaultKernelName: resolved.string("default-kernel"))
        runtimeDirectory = resolved.value("runtime-dir") ?? LocalProcessProvisioner.defaultRuntimeDirectory()
        allowLocalKernels = resolved.value("allow-local-kernels") == nil
            ? environment["KUBERNETES_SERVICE_HOST"] == nil : try resolved.bool("allow-local-kernels")
        if try resolved.bool("kubernetes") {
            do {
                let client = try KubernetesConfiguration.load(environment: environment)
                let image = resolved.string("kernel-image")
                let claim = resolved.string("workspace-claim")
                let cpuLimit = resolved.string("kernel-cpu-limit"), memoryLimit = resolved.string("kernel-memory-limit")
                for (key, value) in [("kernel-cpu-limit", cpuLimit), ("kernel-memory-limit", memoryLimit)]
                where !value.isEmpty && Quantity.amount(value) == nil {
                    throw SettingsError.invalid(key: key, value: value, expected: "a Kubernetes quantity such as 2, 500m or 4Gi")
                }
                kubernetes = (client, KubernetesProvisionerConfiguration(
                    namespace: resolved.value("namespace") ?? client.namespace,
                    gatewayName: resolved.string("gateway-name"),
                    kernelServiceAccount: resolved.string("kernel-service-account"),
                    defaultImage: image.isEmpty ? nil : image,
                    allowedImages: resolved.list("allowed-images"),
                    workspaceClaim: claim.isEmpty ? nil : claim,
                    identity: try Self.identityPolicy(resolved),
                    defaultCPULimit: cpuLimit.isEmpty ? nil : cpuLimit, defaultMemoryLimit: memoryLimit.isEmpty ? nil : memoryLimit))
                kubernetes?.provisioner.replicaID = try Self.replicaID(resolved, environment: environment)
                // Other replicas learn of a kernel's use from its pod: often enough for the shortest idle timeout.
                let annotationInterval = cull.idleTimeout > 0 ? min(60, max(1, cull.idleTimeout / 4)) : 60
                kubernetes?.provisioner.activityAnnotationInterval = annotationInterval
                manager.activityPublishInterval = Seconds.duration(min(5, annotationInterval))
                // Inside a cluster the default kernel is a pod, unless configured otherwise.
                if environment["KUBERNETES_SERVICE_HOST"] != nil, resolved.flags["default-kernel"] == nil,
                   environment["EG_DEFAULT_KERNEL_NAME"] == nil {
                    catalog.defaultKernelName = "python_kubernetes"
                }
            } catch let error as SettingsError {
                throw error
            } catch KubernetesConfigurationError.noKubeconfig {
                kubernetes = nil
            } catch {
                kubernetesProblem = "\(error)"
            }
        }
    }

    /// `KERNEL_UID` / `KERNEL_GID` ranges and prohibited ids.
    static func identityPolicy(_ resolved: SettingsResolver) throws -> KernelIdentityPolicy {
        func range(_ key: String) throws -> ClosedRange<Int> {
            guard let range = KernelIdentityPolicy.parseRange(resolved.string(key)) else {
                throw SettingsError.invalid(key: key, value: resolved.string(key), expected: "a range of ids such as 1000-65535")
            }
            return range
        }
        func ids(_ key: String) throws -> Set<Int> {
            try Set(resolved.list(key).map { text in
                guard let id = Int(text), id >= 0 else { throw SettingsError.invalid(key: key, value: text, expected: "numeric ids") }
                return id
            })
        }
        return KernelIdentityPolicy(uidRange: try range("kernel-uid-range"), gidRange: try range("kernel-gid-range"),
                                    prohibitedUIDs: try ids("prohibited-uids").union([0]), prohibitedGIDs: try ids("prohibited-gids").union([0]))
    }

    /// The URL a client on this machine uses: a wildcard bind is reached through the loopback address.
    static func connectURL(_ http: HTTPServerConfiguration, port: Int) -> String {
        var host = http.host
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" { host = "[::1]" } else if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        let base = http.basePath == "/" ? "" : String(http.basePath.dropLast())
        return "\(http.certificateFile == nil ? "http" : "https")://\(host):\(port)\(base)"
    }

    /// This replica's identity: `--replica-id`, else the pod's name (`POD_NAME`), else the host name (a pod's).
    static func replicaID(_ resolved: SettingsResolver, environment: [String: String]) throws -> String {
        let id = resolved.value("replica-id") ?? environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
        guard !id.isEmpty, id.utf8.count <= 253, id.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw SettingsError.invalid(key: "replica-id", value: id, expected: "1 to 253 printable ASCII characters without spaces")
        }
        return id
    }

    static func logLevel(_ text: String) throws -> Logger.Level {
        switch text.lowercased() {
        case "trace": return .trace
        case "debug", "10": return .debug
        case "info", "20": return .info
        case "notice": return .notice
        case "warning", "warn", "30": return .warning
        case "error", "40": return .error
        case "critical", "50": return .critical
        default: throw SettingsError.invalid(key: "log-level", value: text, expected: "trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() async throws {
        let (level, format) = (logLevel, logFormat)
        let limiter = LogRateLimiter()
        LoggingSystem.bootstrap { label in
            RateLimitedLogHandler(base: EscapingLogHandler(base: format.handler(label: label, level: level)), limiter: limiter)
        }
        let logger = {
            var logger = Logger(label: "elastic-jupyter.gateway")
            logger.logLevel = level
            return logger
        }()
        let catalog = KernelSpecCatalog(configuration: catalog, logger: logger)
        var provisioners: [ProvisionerKind: any Provisioner] = [:]
        if allowLocalKernels {
            provisioners[.local] = try LocalProcessProvisioner(runtimeDirectory: runtimeDirectory, logger: logger)
        } else {
            logger.info("local-process kernelspecs are off inside a cluster (--allow-local-kernels enables them)")
        }
        var services: [any Service] = []
        let exposition = MetricsExposition()
        let metrics = exposition.metrics
        var kubernetesClient: KubernetesClient?
        var podTracker: KernelPodTracker?
        if let problem = kubernetesProblem {
            logger.warning("no usable Kubernetes configuration: pod kernelspecs are not offered", metadata: ["reason": "\(problem)"])
        }
        if let kubernetes {
            let client = try KubernetesClient(configuration: kubernetes.client, logger: logger) { verb, error in
                metrics.kubernetesAPIError(verb: verb, error: error)
            }
            kubernetesClient = client
            let tracker = KernelPodTracker(client: client, configuration: kubernetes.provisioner, logger: logger)
            podTracker = tracker
            let roster = ReplicaRoster(client: client, configuration: kubernetes.provisioner, logger: logger)
            services += [tracker, roster, KernelOwnershipClaims(roster: roster, tracker: tracker, client: client,
                                                                namespace: kubernetes.provisioner.namespace, logger: logger)]
            provisioners[.kubernetes] = KubernetesPodProvisioner(
                client: client, tracker: tracker, configuration: kubernetes.provisioner, limits: self.manager.limits, logger: logger)
            logger.info("kernels may run as pods", metadata: [
                "server": "\(kubernetes.client.server)", "namespace": "\(kubernetes.provisioner.namespace)",
                "gateway": "\(kubernetes.provisioner.gatewayName)", "replica": "\(kubernetes.provisioner.replicaID)",
            ])
        }
        let router = ProvisionerRouter(provisioners)
        let reactor = ZMQReactor(name: "zmq-relay")
        let manager = KernelManager(catalog: catalog, provisioner: router, configuration: self.manager,
                                    reactor: reactor, logger: logger, availableProvisioners: router.kinds, metrics: metrics)
        let http = self.http
        let culler = KernelCuller(manager: manager, configuration: cull, logger: logger)
        let token = authToken
        let (registry, usersService) = try await users.start(
            adminToken: token.value, kubernetes: kubernetesClient.map { ($0, self.kubernetes?.client.namespace ?? "default") }, logger: logger)
        services += usersService.map { [$0] } ?? []
        // Users' kernels run in their workspaces' namespaces: watched from the start, so those are adopted too.
        if let podTracker { registry.observe { podTracker.watch(namespaces: $0.kernelNamespaces) } }
        if let metricsPort {
            services.append(MetricsServer.make(host: http.host, port: metricsPort, manager: manager, exposition: exposition, logger: logger) { port in
                logger.info("metrics listening", metadata: ["address": "\(http.host):\(port)", "path": "/metrics"])
            })
        }
        let app = try GatewayServer.makeApplication(settings: http, manager: manager, users: registry, metrics: exposition, logger: logger) { port in
            let url = Self.connectURL(http, port: port)
            logger.info("elastic-jupyter gateway listening", metadata: [
                "url": "\(url)", "kernelspecs": "\(catalog.specs().keys.sorted().joined(separator: ","))",
                "authentication": "\(token == .none ? "none (--allow-unauthenticated)" : users.isConfigured ? "users" : "token")",
            ])
            FileHandle.standardOutput.write(Data((token.connectLine(url: url) + "\n").utf8))
        }
        defer { try? FileManager.default.removeItem(atPath: runtimeDirectory) }
        // Graceful shutdown runs in reverse order: the culler, then the manager (every kernel stopped, starts
        // in flight abandoned), then the HTTP server, then the pod watch the manager needed until the end.
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) } + [
                .init(service: app), .init(service: manager), .init(service: culler), .init(service: HeapTrimmer()),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            try? await kubernetesClient?.shutdown()
            throw error
        }
        try? await kubernetesClient?.shutdown()
    }
}
