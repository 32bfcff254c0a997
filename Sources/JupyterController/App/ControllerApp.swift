import KubernetesAPI
import KubernetesRuntime
import Logging
import ServiceLifecycle

/// The controller as a `Service`: with leader election, campaigns for the Lease and runs the controllers
/// only while leading (so only the leader writes); without, runs them at once.
public struct ControllerApp: Service {
    let client: KubernetesClient
    let configuration: ControllerConfiguration
    let metrics: ControllerMetrics
    let health: HealthState
    let logger: Logger

    /// Creates the app.
    /// - Parameters:
    ///   - client: The API client (shut down by the caller).
    ///   - configuration: Settings.
    ///   - metrics: The metrics registry.
    ///   - health: Probe state.
    ///   - logger: Logger.
    public init(
        client: KubernetesClient, configuration: ControllerConfiguration, metrics: ControllerMetrics, health: HealthState,
        logger: Logger
    ) {
        self.client = client
        self.configuration = configuration
        self.metrics = metrics
        self.health = health
        self.logger = logger
    }

    /// Runs until gracefully shut down or cancelled.
    public func run() async throws {
        let recorder = EventRecorder(client: client, instance: configuration.identity, metrics: metrics, logger: logger)
        let term = ControllerTerm(
            client: client, configuration: configuration, metrics: metrics, health: health, recorder: recorder, logger: logger)
        guard let election = configuration.leaderElection else {
            health.setLeading(true)
            metrics.set("elastic_jupyter_controller_leader", 1)
            try await term.run()
            return
        }
        let metrics = self.metrics
        let health = self.health
        let logger = self.logger
        metrics.set("elastic_jupyter_controller_leader", 0)
        let elector = LeaderElector(
            client: client, configuration: election.runtime, logger: logger,
            onStartedLeading: {
                health.setLeading(true)
                metrics.set("elastic_jupyter_controller_leader", 1)
            },
            onStoppedLeading: {
                health.setLeading(false)
                metrics.set("elastic_jupyter_controller_leader", 0)
            },
            onNewLeader: { leader in logger.info("leader is \(leader)") },
            whileLeading: { try await Self.keepRunning(term, logger: logger) })
        try await elector.run()
    }

    /// Runs a term; an unexpected failure starts a fresh term after a pause instead of leading idly.
    static func keepRunning(_ term: ControllerTerm, logger: Logger) async throws {
        while !Task.isCancelled {
            do {
                try await term.run()
                return
            } catch is CancellationError {
                return
            } catch {
                logger.error("controller term failed, restarting", metadata: ["error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Composes the controller process: API client, probe servers and ``ControllerApp`` in one `ServiceGroup`
/// that stops gracefully on SIGTERM / SIGINT (the Lease is released, in-flight reconciles finish).
public enum ControllerMain {
    /// Runs the controller until a termination signal.
    /// - Parameters:
    ///   - configuration: Controller settings.
    ///   - kubernetes: How to reach the API server.
    ///   - logger: Logger.
    ///   - clientLogger: Logger of the API client (its HTTP layer is chatty at debug); default `logger`.
    public static func run(
        configuration: ControllerConfiguration, kubernetes: KubernetesConfiguration, logger: Logger, clientLogger: Logger? = nil
    ) async throws {
        let client = try KubernetesClient(configuration: kubernetes, logger: clientLogger ?? logger)
        let metrics = ControllerMetrics()
        let health = HealthState(electing: configuration.leaderElection != nil)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: KubernetesClientService(client: client))]
        let host = configuration.bindAddress
        if configuration.healthPort > 0, configuration.healthPort == configuration.metricsPort {
            services.append(.init(service: ProbeServer.make(
                host: host, port: configuration.healthPort, endpoints: [.health, .metrics], health: health, metrics: metrics, logger: logger)))
        } else {
            if configuration.metricsPort > 0 {
                services.append(.init(service: ProbeServer.make(
                    host: host, port: configuration.metricsPort, endpoints: .metrics, health: health, metrics: metrics, logger: logger)))
            }
            if configuration.healthPort > 0 {
                services.append(.init(service: ProbeServer.make(
                    host: host, port: configuration.healthPort, endpoints: .health, health: health, metrics: metrics, logger: logger)))
            }
        }
        let app = ControllerApp(client: client, configuration: configuration, metrics: metrics, health: health, logger: logger)
        services.append(.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("elastic-jupyter controller starting", metadata: [
            "server": "\(kubernetes.server)", "namespace": "\(configuration.namespace ?? "*")",
            "leaderElection": "\(configuration.leaderElection.map { "\($0.leaseNamespace)/\($0.leaseName) as \($0.identity)" } ?? "off")",
        ])
        try await group.run()
    }
}
