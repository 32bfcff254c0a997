import KubernetesAPI
import Logging

/// What to do with a key after a successful reconcile.
public enum ReconcileAction: Sendable, Hashable {
    /// Done; wait for the next change of the object (or its children) to be enqueued.
    case awaitChange
    /// Reconcile again after this long even if nothing changes (the failure count is reset).
    case requeue(after: Duration)
    /// Reconcile again with the key's exponential backoff (e.g. waiting for something to become ready).
    case requeueWithBackoff
}

/// Level-based reconciliation of one key: read the current state (from a store), compute the desired
/// state, write the difference. Must be idempotent; it is never told why it runs.
///
/// Errors are retried with the key's exponential backoff, except ``TerminalReconcileError``.
public protocol Reconciler: Sendable {
    /// The queue key, normally ``ObjectKey`` (`namespace/name`).
    associatedtype Key: Hashable & Sendable = ObjectKey

    /// Reconciles one key.
    /// - Parameters:
    ///   - key: The key.
    ///   - logger: A logger with `reconcile.key` and `reconcile.id` metadata.
    /// - Returns: What to do next with the key.
    func reconcile(_ key: Key, logger: Logger) async throws -> ReconcileAction
}

/// An error that retrying will not fix: the key is logged and dropped until its next change.
public struct TerminalReconcileError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// Creates a terminal error.
    /// - Parameter message: What went wrong.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
