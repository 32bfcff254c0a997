import Foundation
import KubernetesAPI
import Logging
import Synchronization

/// Writes Kubernetes Events (`v1` Events) about the custom resources. The same event for the same object
/// is written at most once per ``repeatInterval``, and all events together at most 5 per second (bursts of
/// 50); the memory behind both is bounded. Failures are logged, never thrown.
public final class EventRecorder: Sendable {
    /// `Normal` or `Warning`.
    public enum EventType: String, Sendable {
        /// Something expected happened.
        case normal = "Normal"
        /// Something needs attention.
        case warning = "Warning"
    }

    /// How long an identical event is suppressed.
    public let repeatInterval: Duration

    private let client: KubernetesClient
    private let instance: String
    private let metrics: ControllerMetrics
    private let logger: Logger
    private let budget = Mutex(EventBudget())

    /// Creates a recorder.
    /// - Parameters:
    ///   - client: The API client.
    ///   - instance: This controller's identity (`reportingInstance`).
    ///   - metrics: Counts events.
    ///   - repeatInterval: Suppression window. Default 10 minutes.
    ///   - logger: Logger.
    public init(
        client: KubernetesClient, instance: String, metrics: ControllerMetrics, repeatInterval: Duration = .seconds(600),
        logger: Logger
    ) {
        self.client = client
        self.instance = instance
        self.metrics = metrics
        self.repeatInterval = repeatInterval
        self.logger = logger
    }

    /// Records an event about an object.
    /// - Parameters:
    ///   - object: The object concerned (needs name, namespace and uid).
    ///   - type: Normal or Warning.
    ///   - reason: `CamelCase` reason.
    ///   - message: Details.
    public func record(_ object: KubeObject, _ type: EventType, reason: String, message: String) async {
        let dedupeKey = "\(object.uid ?? object.name)|\(type.rawValue)|\(reason)|\(message)"
        let now = ContinuousClock.now
        let decision = budget.withLock { $0.admit(dedupeKey, now: now, repeatInterval: repeatInterval) }
        if decision == .rateLimited {
            metrics.countEvent(type: type.rawValue, reason: "RateLimited")
            logger.debug("event rate-limited", metadata: ["reason": "\(reason)", "object": "\(object.namespace ?? "")/\(object.name)"])
        }
        guard decision == .write, let namespace = object.namespace else { return }
        let event = Self.event(for: object, namespace: namespace, type: type, reason: reason, message: message, instance: instance)
        do {
            _ = try await client.create(.events, event, namespace: namespace)
            metrics.countEvent(type: type.rawValue, reason: reason)
        } catch is CancellationError {
        } catch {
            logger.debug("could not record an event", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    /// The `v1` Event object. Pure.
    static func event(
        for object: KubeObject, namespace: String, type: EventType, reason: String, message: String, instance: String
    ) -> KubeObject {
        let now = Condition.now()
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var event = KubeObject(.events, name: "\(object.name).\(suffix)", namespace: namespace)
        var involved: KubeJSON = [
            "apiVersion": .string(object.apiVersion ?? ""), "kind": .string(object.kind ?? ""),
            "name": .string(object.name), "namespace": .string(namespace),
        ]
        if let uid = object.uid { involved["uid"] = .string(uid) }
        if let version = object.resourceVersion { involved["resourceVersion"] = .string(version) }
        event.fields = [
            "involvedObject": involved,
            "reason": .string(reason),
            "message": .string(String(message.prefix(1024))),
            "type": .string(type.rawValue),
            "source": ["component": .string(ControllerLabels.managerName)],
            "reportingComponent": .string(ControllerLabels.managerName),
            "reportingInstance": .string(String(instance.prefix(128))),
            "firstTimestamp": .string(now),
            "lastTimestamp": .string(now),
            "count": 1,
        ]
        return event
    }
}
