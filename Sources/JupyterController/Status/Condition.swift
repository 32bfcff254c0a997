import Foundation
import KubernetesAPI

/// A status condition (`metav1.Condition`).
public struct Condition: Codable, Sendable, Hashable {
    /// Type, e.g. `Ready`.
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String
    /// Generation of the object the condition was computed for.
    public var observedGeneration: Int64?
    /// When `status` last changed (RFC 3339).
    public var lastTransitionTime: String
    /// `CamelCase` reason.
    public var reason: String
    /// Human-readable details.
    public var message: String

    /// Creates a condition.
    /// - Parameters:
    ///   - type: Type.
    ///   - status: `true`, `false` (or use ``init(type:rawStatus:reason:message:observedGeneration:lastTransitionTime:)``).
    ///   - reason: Reason.
    ///   - message: Message.
    ///   - observedGeneration: Generation.
    ///   - lastTransitionTime: Transition time; default now.
    public init(
        type: String, status: Bool, reason: String, message: String, observedGeneration: Int64?,
        lastTransitionTime: String = Condition.now()
    ) {
        self.init(
            type: type, rawStatus: status ? "True" : "False", reason: reason, message: message,
            observedGeneration: observedGeneration, lastTransitionTime: lastTransitionTime)
    }

    /// Creates a condition with a raw status (`Unknown` included).
    public init(
        type: String, rawStatus: String, reason: String, message: String, observedGeneration: Int64?,
        lastTransitionTime: String = Condition.now()
    ) {
        self.type = type
        self.status = rawStatus
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }

    /// Whether the status is `True`.
    public var isTrue: Bool { status == "True" }

    /// The current time in RFC 3339 (seconds, UTC).
    public static func now() -> String {
        Date().formatted(.iso8601)
    }

    /// Conditions of a status object.
    public static func list(from status: KubeJSON?) -> [Condition] {
        guard let items = status?["conditions"] else { return [] }
        return (try? items.decode(as: [Condition].self)) ?? []
    }
}

extension Array where Element == Condition {
    /// Merges freshly computed conditions into previous ones: a condition whose status did not change keeps
    /// its `lastTransitionTime`; conditions not computed now are dropped.
    /// - Parameter previous: The conditions currently stored.
    /// - Returns: The conditions to store.
    public func keepingTransitionTimes(from previous: [Condition]) -> [Condition] {
        map { condition in
            guard let old = previous.first(where: { $0.type == condition.type }), old.status == condition.status else {
                return condition
            }
            var kept = condition
            kept.lastTransitionTime = old.lastTransitionTime
            return kept
        }
    }

    /// The condition of a type.
    public subscript(type type: String) -> Condition? {
        first { $0.type == type }
    }
}
