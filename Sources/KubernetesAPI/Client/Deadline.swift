/// Bounds an async operation in time with structured concurrency.
public enum Deadline {
    /// Runs `operation`, throwing a ``KubernetesError`` of kind `.timeout` if it takes longer than `timeout`
    /// (the operation is cancelled).
    public static func run<T: Sendable>(
        within timeout: Duration, what: @autoclosure () -> String,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let description = what()
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw KubernetesError.timedOut("\(description) did not complete within \(timeout)")
            }
            return value
        }
    }
}
