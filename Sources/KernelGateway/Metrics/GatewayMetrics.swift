import CoreMetrics
import KubernetesAPI
import Synchronization

/// The gateway's metrics, recorded through swift-metrics into the factory given (the `gateway` command gives a
/// Prometheus registry's; the default records nothing). Handles of the per-message metrics are made once, so the
/// relay's hot path is a relaxed atomic add; rarer events (starts, culls, restarts) look their handle up by labels.
/// Names and help: ``GatewayMetricNames``.
public final class GatewayMetrics: Sendable {
    /// Which way a message went through the gateway.
    public enum Direction: String, Sendable, CaseIterable {
        case clientToKernel = "client_to_kernel"
        case kernelToClient = "kernel_to_client"
    }

    private let factory: any MetricsFactory
    private let relayedMessages: [Counter]
    private let relayedBytes: [Counter]
    private let clients: Meter
    private let gpuIdle: FloatingPointCounter
    private let gpuBusy: FloatingPointCounter
    /// The `kernels` gauges set at the last scrape, by (state, kernelspec): set to 0 once no kernel has them.
    private let kernelGauges = Mutex<[KernelGaugeKey: Meter]>([:])

    struct KernelGaugeKey: Hashable {
        var state: String
        var kernelspec: String
    }

    /// Creates the metrics.
    /// - Parameter factory: Where they are recorded; by default nowhere.
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        relayedMessages = Direction.allCases.map {
            Counter(label: GatewayMetricNames.messagesRelayed, dimensions: [("direction", $0.rawValue)], factory: factory)
        }
        relayedBytes = Direction.allCases.map {
            Counter(label: GatewayMetricNames.bytesRelayed, dimensions: [("direction", $0.rawValue)], factory: factory)
        }
        clients = Meter(label: GatewayMetricNames.webSocketClients, factory: factory)
        gpuIdle = FloatingPointCounter(label: GatewayMetricNames.gpuKernelSeconds, dimensions: [("state", "idle")], factory: factory)
        gpuBusy = FloatingPointCounter(label: GatewayMetricNames.gpuKernelSeconds, dimensions: [("state", "busy")], factory: factory)
        // Series that exist from the start, at zero, so that rates and alerts see them before the first event.
        for provisioner in [ProvisionerKind.local, .kubernetes] {
            for result in ["success", "failure"] {
                counter(GatewayMetricNames.starts, [("provisioner", provisioner.rawValue), ("result", result)]).increment(by: 0)
            }
            _ = Timer(label: GatewayMetricNames.startSeconds, dimensions: [("provisioner", provisioner.rawValue)], factory: factory)
        }
        for kind in ["automatic", "requested"] { counter(GatewayMetricNames.restarts, [("kind", kind)]).increment(by: 0) }
        for reason in CullReason.Kind.allCases { counter(GatewayMetricNames.culls, [("reason", reason.rawValue)]).increment(by: 0) }
        for reason in ["queue", "memory_budget"] {
            counter(GatewayMetricNames.slowClientDisconnects, [("reason", reason)]).increment(by: 0)
        }
    }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Counter {
        Counter(label: name, dimensions: dimensions, factory: factory)
    }

    // MARK: Kernels

    /// A kernel answered after `duration` (from the start request).
    public func kernelStarted(provisioner: ProvisionerKind, after duration: Duration) {
        counter(GatewayMetricNames.starts, [("provisioner", provisioner.rawValue), ("result", "success")]).increment()
        Timer(label: GatewayMetricNames.startSeconds, dimensions: [("provisioner", provisioner.rawValue)], factory: factory)
            .recordNanoseconds(Self.nanoseconds(duration))
    }

    /// A start failed with `error`.
    public func kernelStartFailed(provisioner: ProvisionerKind, error: GatewayError) {
        counter(GatewayMetricNames.starts, [("provisioner", provisioner.rawValue), ("result", "failure")]).increment()
        counter(GatewayMetricNames.startFailures, [("provisioner", provisioner.rawValue), ("reason", error.startFailureReason)])
            .increment()
    }

    /// A kernel was culled.
    public func kernelCulled(_ reason: CullReason.Kind) {
        counter(GatewayMetricNames.culls, [("reason", reason.rawValue)]).increment()
    }

    /// A kernel restart began: `automatic` after its process died, else requested by a client.
    public func kernelRestarted(automatic: Bool) {
        counter(GatewayMetricNames.restarts, [("kind", automatic ? "automatic" : "requested")]).increment()
    }

    /// Seconds a GPU kernel spent idle and busy.
    func gpuSeconds(idle: Double, busy: Double) {
        if idle > 0 { gpuIdle.increment(by: idle) }
        if busy > 0 { gpuBusy.increment(by: busy) }
    }

    /// Sets the `kernels` gauge: how many kernels are in each (state, kernelspec); pairs seen before and absent now
    /// go to 0.
    func setKernelCounts(_ counts: [KernelGaugeKey: Int]) {
        kernelGauges.withLock { gauges in
            for key in Set(gauges.keys).union(counts.keys) {
                let gauge = gauges[key] ?? Meter(
                    label: GatewayMetricNames.kernels, dimensions: [("state", key.state), ("kernelspec", key.kernelspec)], factory: factory)
                gauges[key] = gauge
                gauge.set(counts[key] ?? 0)
            }
        }
    }

    // MARK: Clients and relay

    /// A WebSocket client attached to a kernel.
    public func clientAttached() { clients.increment() }

    /// A WebSocket client detached; `reason` is why the relay closed it, if it did.
    public func clientDetached(reason: ClientCloseReason?) {
        clients.decrement()
        switch reason {
        case .tooSlow: counter(GatewayMetricNames.slowClientDisconnects, [("reason", "queue")]).increment()
        case .memoryBudgetExceeded: counter(GatewayMetricNames.slowClientDisconnects, [("reason", "memory_budget")]).increment()
        default: break
        }
    }

    /// One message of `bytes` WebSocket payload bytes relayed.
    @inline(__always)
    public func relayed(_ direction: Direction, bytes: Int) {
        let index = direction == .clientToKernel ? 0 : 1
        relayedMessages[index].increment()
        relayedBytes[index].increment(by: bytes)
    }

    // MARK: Kubernetes

    /// A Kubernetes API request attempt failed (see ``KubernetesClient/errorObserver``).
    public func kubernetesAPIError(verb: String, error: KubernetesError) {
        let verb = ["get", "watch", "create", "update", "patch", "delete"].contains(verb) ? verb : "other"
        counter(GatewayMetricNames.kubernetesAPIErrors, [("verb", verb), ("error", KubernetesErrorLabel.error(error))]).increment()
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000
    }
}
