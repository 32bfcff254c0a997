import Foundation
import KubernetesAPI
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import KubernetesRuntime

@Suite("controller loop")
struct ControllerLoopTests {
    /// Fails each key twice, then succeeds; counts attempts and concurrent runs per key.
    final class FlakyReconciler: Reconciler, Sendable {
        let attempts = Mutex<[ObjectKey: Int]>([:])
        let running = Mutex<Set<ObjectKey>>([])
        let overlaps = Atomic<Int>(0)

        func reconcile(_ key: ObjectKey, logger: Logger) async throws -> ReconcileAction {
            let fresh = running.withLock { $0.insert(key).inserted }
            if !fresh { overlaps.add(1, ordering: .relaxed) }
            defer { _ = running.withLock { $0.remove(key) } }
            try await Task.sleep(for: .milliseconds(5))
            let n = attempts.withLock { a -> Int in
                a[key, default: 0] += 1
                return a[key]!
            }
            if key.name == "terminal" { throw TerminalReconcileError("cannot fix") }
            if n <= 2 { throw KubernetesError(kind: .conflict, message: "try again") }
            return .awaitChange
        }
    }

    @Test func errorsAreRetriedWithBackoffAndGracefulShutdownStopsTheWorkers() async throws {
        let reconciler = FlakyReconciler()
        let queue = WorkQueue<ObjectKey>(rateLimiter: RateLimiter(baseDelay: .milliseconds(10), maxDelay: .milliseconds(100)))
        let loop = ControllerLoop(name: "test", reconciler: reconciler, queue: queue, workers: 3)
        let keys = (0..<5).map { ObjectKey(namespace: "n", name: "k\($0)") } + [ObjectKey(namespace: "n", name: "terminal")]
        for key in keys { queue.add(key) }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: loop)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await eventually("all reconciled") {
                reconciler.attempts.withLock { a in keys.dropLast().allSatisfy { a[$0] == 3 } }
                    && queue.processingCount == 0 && queue.delayedCount == 0
            }
            await group.triggerGracefulShutdown()
            tasks.addTask {
                try await Task.sleep(for: .seconds(5))
                throw TimedOut(what: "graceful shutdown")
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        #expect(reconciler.attempts.withLock { $0[ObjectKey(namespace: "n", name: "terminal")] } == 1)
        #expect(reconciler.overlaps.load(ordering: .relaxed) == 0)
        #expect(queue.failures(for: keys[0]) == 0)
        #expect(queue.isShutDown)
    }
}
