import KubernetesAPI
import KubernetesRuntime
import Logging

/// Wraps a reconciler to count and time its reconciles.
public struct MeteredReconciler<Wrapped: Reconciler>: Reconciler where Wrapped.Key == ObjectKey {
    /// The wrapped reconciler.
    public let wrapped: Wrapped
    /// Controller name in metrics.
    public let name: String
    /// The registry.
    public let metrics: ControllerMetrics

    /// Wraps a reconciler.
    public init(_ wrapped: Wrapped, name: String, metrics: ControllerMetrics) {
        self.wrapped = wrapped
        self.name = name
        self.metrics = metrics
    }

    /// Reconciles, recording the result and duration.
    public func reconcile(_ key: ObjectKey, logger: Logger) async throws -> ReconcileAction {
        let start = ContinuousClock.now
        do {
            let action = try await wrapped.reconcile(key, logger: logger)
            let result = action == .requeueWithBackoff ? "requeue" : "success"
            metrics.countReconcile(controller: name, result: result, seconds: Self.seconds(ContinuousClock.now - start))
            return action
        } catch {
            if !(error is CancellationError) {
                metrics.countReconcile(controller: name, result: "error", seconds: Self.seconds(ContinuousClock.now - start))
            }
            throw error
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
