import KernelGateway
import NIOCore
import Prometheus

/// The gateway's metrics and their exposition: a Prometheus registry, the ``GatewayMetrics`` that record into it,
/// and the text rendered for `/metrics` (on the main port with a token, on `--metrics-port` without).
public final class MetricsExposition: Sendable {
    /// The registry everything is recorded into.
    let registry: PrometheusCollectorRegistry
    /// What the gateway records.
    public let metrics: GatewayMetrics

    /// The Prometheus text format's content type.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Creates an empty registry and the metrics recording into it.
    public init() {
        registry = PrometheusCollectorRegistry()
        metrics = GatewayMetrics(factory: DescribedPrometheusFactory(registry: registry))
    }

    /// Everything, in the Prometheus text format, after the scrape-time metrics of `manager` are brought up to date.
    public func render(manager: KernelManager) async -> ByteBuffer {
        await manager.collectMetrics()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8192)
        registry.emit(into: &bytes)
        return ByteBuffer(bytes: bytes)
    }
}
