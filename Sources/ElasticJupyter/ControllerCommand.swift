import ArgumentParser
import Foundation
import JupyterController
import KubernetesAPI
import Logging

/// `elastic-jupyter controller`: reconciles JupyterGateway and JupyterNotebook custom resources.
/// Every option also has an environment variable; a flag wins over the environment.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the Kubernetes controller for JupyterGateway and JupyterNotebook resources.")

    @Option(help: "Kubeconfig file (KUBECONFIG; in-cluster configuration when running in a pod).") var kubeconfig: String?
    @Option(help: "Namespace to watch; empty watches all (EJ_WATCH_NAMESPACE).") var namespace: String?
    @Flag(name: .customLong("leader-elect"), inversion: .prefixedNo, help: "Elect a leader with a Lease (EJ_LEADER_ELECT, default true).")
    var leaderElect: Bool?
    @Option(name: .customLong("lease-name"), help: "Lease name (EJ_LEASE_NAME, default elastic-jupyter-controller).") var leaseName: String?
    @Option(name: .customLong("lease-namespace"), help: "Lease namespace (EJ_LEASE_NAMESPACE, else POD_NAMESPACE, else the watched or kubeconfig namespace).")
    var leaseNamespace: String?
    @Option(help: "This instance's identity (EJ_IDENTITY, else POD_NAME, else host name plus a random suffix).") var identity: String?
    @Option(name: .customLong("lease-duration"), help: "Seconds a lease holds without renewal (EJ_LEASE_DURATION, default 15).")
    var leaseDuration: String?
    @Option(name: .customLong("renew-deadline"), help: "Seconds the leader retries renewing before giving up (EJ_RENEW_DEADLINE, default 10).")
    var renewDeadline: String?
    @Option(name: .customLong("retry-period"), help: "Seconds between lease attempts (EJ_RETRY_PERIOD, default 2).") var retryPeriod: String?
    @Option(name: .customLong("metrics-port"), help: "Port of /metrics; 0 disables (EJ_METRICS_PORT, default 8080).") var metricsPort: String?
    @Option(name: .customLong("health-port"), help: "Port of /healthz and /readyz; 0 disables (EJ_HEALTH_PORT, default 8081).")
    var healthPort: String?
    @Option(name: .customLong("bind-address"), help: "Address of the metrics and health servers (EJ_BIND_ADDRESS, default 0.0.0.0).")
    var bindAddress: String?
    @Option(name: .customLong("gateway-image"), help: "Default gateway image (EJ_GATEWAY_IMAGE).") var gatewayImage: String?
    @Option(name: .customLong("notebook-image"), help: "Default JupyterLab image (EJ_NOTEBOOK_IMAGE).") var notebookImage: String?
    @Option(name: .customLong("kernel-image"), help: "Default kernel image (EJ_KERNEL_IMAGE).") var kernelImage: String?
    @Option(help: "Concurrent reconciles per controller (EJ_WORKERS, default 2).") var workers: String?
    @Option(name: .customLong("resync-period"), help: "Seconds between drift checks of settled objects (EJ_RESYNC_PERIOD, default 600).")
    var resyncPeriod: String?
    @Option(name: .customLong("claim-pending-grace"),
            help: "Seconds a notebook's claim may stay Pending before a ClaimPending condition names the cause (EJ_CLAIM_PENDING_GRACE, default 30).")
    var claimPendingGrace: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (EJ_LOG_LEVEL, default info).")
    var logLevel: String?
    @Option(name: .customLong("log-format"), help: "text or json: one JSON object per line (EJ_LOG_FORMAT, default text).")
    var logFormat: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = ControllerSettings(command: self, environment: environment)
        let level = try settings.logLevel()
        let format: LogFormat
        do {
            format = try LogFormat.parse(settings.value(logFormat, "EJ_LOG_FORMAT") ?? "text")
        } catch {
            throw ValidationError("\(error)")
        }
        LoggingSystem.bootstrap { label in format.handler(label: label, level: level) }
        var logger = Logger(label: "elastic-jupyter.controller")
        logger.logLevel = level
        let kubernetes: KubernetesConfiguration
        do {
            if let path = settings.kubeconfigPath {
                kubernetes = try KubernetesConfiguration.kubeconfig(path: path, environment: environment)
            } else {
                kubernetes = try KubernetesConfiguration.load(environment: environment)
            }
        } catch {
            throw ValidationError("Cannot configure the Kubernetes client: \(error)")
        }
        let configuration = try settings.configuration(defaultNamespace: kubernetes.namespace)
        var clientLogger = Logger(label: "elastic-jupyter.kubernetes")
        clientLogger.logLevel = level == .trace ? .trace : max(level, .info)
        try await ControllerMain.run(configuration: configuration, kubernetes: kubernetes, logger: logger, clientLogger: clientLogger)
    }
}

/// The controller's settings from flags, then environment variables, then defaults.
struct ControllerSettings {
    let command: ControllerCommand
    let environment: [String: String]

    init(command: ControllerCommand, environment: [String: String]) {
        self.command = command
        self.environment = environment
    }

    func value(_ flag: String?, _ names: String...) -> String? {
        if let flag { return flag }
        for name in names {
            if let value = environment[name], !value.isEmpty { return value }
        }
        return nil
    }

    var kubeconfigPath: String? { command.kubeconfig }

    func logLevel() throws -> Logger.Level {
        let text = value(command.logLevel, "EJ_LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: text.lowercased()) ?? (text.lowercased() == "warn" ? .warning : nil) else {
            throw ValidationError("--log-level '\(text)': expected trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    func seconds(_ flag: String?, _ variable: String, default fallback: Double, option: String) throws -> Duration {
        let text = value(flag, variable) ?? String(fallback)
        guard let number = Double(text), number > 0 else {
            throw ValidationError("--\(option) '\(text)': expected a positive number of seconds")
        }
        return .milliseconds(Int64(number * 1000))
    }

    func port(_ flag: String?, _ variable: String, default fallback: Int, option: String) throws -> Int {
        let text = value(flag, variable) ?? String(fallback)
        guard let number = Int(text), (0...65535).contains(number) else {
            throw ValidationError("--\(option) '\(text)': expected a port (0 disables)")
        }
        return number
    }

    func bool(_ flag: Bool?, _ variable: String, default fallback: Bool) throws -> Bool {
        if let flag { return flag }
        guard let text = environment[variable], !text.isEmpty else { return fallback }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationError("\(variable) '\(text)': expected true or false")
        }
    }

    func configuration(defaultNamespace: String) throws -> ControllerConfiguration {
        let watched = value(command.namespace, "EJ_WATCH_NAMESPACE")
        let identity = value(command.identity, "EJ_IDENTITY", "POD_NAME") ?? Self.defaultIdentity()
        var election: ControllerConfiguration.LeaderElection?
        if try bool(command.leaderElect, "EJ_LEADER_ELECT", default: true) {
            let lease = try seconds(command.leaseDuration, "EJ_LEASE_DURATION", default: 15, option: "lease-duration")
            let renew = try seconds(command.renewDeadline, "EJ_RENEW_DEADLINE", default: 10, option: "renew-deadline")
            let retry = try seconds(command.retryPeriod, "EJ_RETRY_PERIOD", default: 2, option: "retry-period")
            guard lease > renew, renew > retry else {
                throw ValidationError("leader election needs lease-duration > renew-deadline > retry-period")
            }
            election = .init(
                leaseName: value(command.leaseName, "EJ_LEASE_NAME") ?? "elastic-jupyter-controller",
                leaseNamespace: value(command.leaseNamespace, "EJ_LEASE_NAMESPACE", "POD_NAMESPACE") ?? watched ?? defaultNamespace,
                identity: identity, leaseDuration: lease, renewDeadline: renew, retryPeriod: retry)
        }
        let workerText = value(command.workers, "EJ_WORKERS") ?? "2"
        guard let workers = Int(workerText), workers > 0 else { throw ValidationError("--workers '\(workerText)': expected a positive integer") }
        return ControllerConfiguration(
            namespace: (watched?.isEmpty ?? true) ? nil : watched,
            leaderElection: election,
            identity: identity,
            bindAddress: value(command.bindAddress, "EJ_BIND_ADDRESS") ?? "0.0.0.0",
            metricsPort: try port(command.metricsPort, "EJ_METRICS_PORT", default: 8080, option: "metrics-port"),
            healthPort: try port(command.healthPort, "EJ_HEALTH_PORT", default: 8081, option: "health-port"),
            render: RenderSettings(
                gatewayImage: value(command.gatewayImage, "EJ_GATEWAY_IMAGE") ?? RenderSettings.defaultGatewayImage,
                notebookImage: value(command.notebookImage, "EJ_NOTEBOOK_IMAGE") ?? RenderSettings.defaultNotebookImage,
                kernelImage: value(command.kernelImage, "EJ_KERNEL_IMAGE") ?? RenderSettings.defaultKernelImage),
            workers: workers,
            resyncPeriod: try seconds(command.resyncPeriod, "EJ_RESYNC_PERIOD", default: 600, option: "resync-period"),
            claimPendingGrace: try seconds(command.claimPendingGrace, "EJ_CLAIM_PENDING_GRACE", default: 30, option: "claim-pending-grace"))
    }

    static func defaultIdentity() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "controller"
        return "\(host)_\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}
