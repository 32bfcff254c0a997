import Foundation
import Synchronization

/// The controller's own metrics, rendered in the Prometheus text format on `/metrics`.
public final class ControllerMetrics: Sendable {
    private struct Sample: Hashable {
        var name: String
        var labels: [String: String]
    }

    private struct State {
        var counters: [Sample: Double] = [:]
        var gauges: [Sample: Double] = [:]
        var providers: [String: @Sendable () -> [(name: String, labels: [String: String], value: Double)]] = [:]
    }

    private let state = Mutex(State())

    /// Metric help texts, by name.
    static let help: [String: (type: String, text: String)] = [
        "elastic_jupyter_controller_reconciles_total": ("counter", "Reconciles by controller and result."),
        "elastic_jupyter_controller_reconcile_seconds_sum": ("counter", "Total reconcile time."),
        "elastic_jupyter_controller_reconcile_seconds_count": ("counter", "Reconciles timed."),
        "elastic_jupyter_controller_writes_total": ("counter", "API writes by kind and verb."),
        "elastic_jupyter_controller_events_total": ("counter", "Kubernetes Events recorded."),
        "elastic_jupyter_controller_leader": ("gauge", "1 while this instance leads."),
        "elastic_jupyter_controller_synced": ("gauge", "1 once the informers of the current term have synced."),
        "elastic_jupyter_controller_queue_depth": ("gauge", "Keys waiting or scheduled (retries, resyncs) in a work queue."),
        "elastic_jupyter_controller_objects": ("gauge", "Objects in the informer caches, by kind."),
    ]

    /// Creates an empty registry.
    public init() {}

    /// Counts one reconcile.
    /// - Parameters:
    ///   - controller: `jupytergateway` or `jupyternotebook`.
    ///   - result: `success`, `requeue` or `error`.
    ///   - seconds: How long it took.
    public func countReconcile(controller: String, result: String, seconds: Double) {
        state.withLock { state in
            state.counters[Sample(name: "elastic_jupyter_controller_reconciles_total", labels: ["controller": controller, "result": result]), default: 0] += 1
            state.counters[Sample(name: "elastic_jupyter_controller_reconcile_seconds_sum", labels: ["controller": controller]), default: 0] += seconds
            state.counters[Sample(name: "elastic_jupyter_controller_reconcile_seconds_count", labels: ["controller": controller]), default: 0] += 1
        }
    }

    /// Counts one write to the API.
    public func countWrite(kind: String, verb: String) {
        state.withLock { $0.counters[Sample(name: "elastic_jupyter_controller_writes_total", labels: ["kind": kind, "verb": verb]), default: 0] += 1 }
    }

    /// Counts one recorded Event.
    public func countEvent(type: String, reason: String) {
        state.withLock { $0.counters[Sample(name: "elastic_jupyter_controller_events_total", labels: ["type": type, "reason": reason]), default: 0] += 1 }
    }

    /// Sets a gauge.
    public func set(_ name: String, _ value: Double, labels: [String: String] = [:]) {
        state.withLock { $0.gauges[Sample(name: name, labels: labels)] = value }
    }

    /// A gauge value (tests).
    public func gauge(_ name: String, labels: [String: String] = [:]) -> Double? {
        state.withLock { $0.gauges[Sample(name: name, labels: labels)] }
    }

    /// A counter value (tests).
    public func counter(_ name: String, labels: [String: String]) -> Double {
        state.withLock { $0.counters[Sample(name: name, labels: labels)] ?? 0 }
    }

    /// Registers gauges computed at scrape time (replacing any under the same id); `nil` removes them.
    public func setProvider(_ id: String, _ provider: (@Sendable () -> [(name: String, labels: [String: String], value: Double)])?) {
        state.withLock { $0.providers[id] = provider }
    }

    /// Everything, in the Prometheus text exposition format.
    public func render() -> String {
        let (counters, gauges, providers) = state.withLock { ($0.counters, $0.gauges, Array($0.providers.values)) }
        var samples: [(String, [String: String], Double)] = counters.map { ($0.key.name, $0.key.labels, $0.value) }
        samples += gauges.map { ($0.key.name, $0.key.labels, $0.value) }
        for provider in providers { samples += provider().map { ($0.name, $0.labels, $0.value) } }
        var lines: [String] = []
        var described: Set<String> = []
        for (name, labels, value) in samples.sorted(by: { ($0.0, Self.labelText($0.1)) < ($1.0, Self.labelText($1.1)) }) {
            if described.insert(name).inserted, let help = Self.help[name] {
                lines.append("# HELP \(name) \(help.text)")
                lines.append("# TYPE \(name) \(help.type)")
            }
            lines.append("\(name)\(Self.labelText(labels)) \(Self.number(value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func labelText(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "" }
        let parts = labels.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(escaped)\""
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
