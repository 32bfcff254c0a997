import KubernetesAPI
import Logging
import ServiceLifecycle
import Synchronization

/// Runs N workers that take keys from a ``WorkQueue`` and hand them to a ``Reconciler``. A `Service`.
///
/// Before the workers start it waits for the given informers to sync. On graceful shutdown the queue is
/// shut down and workers finish the reconcile they are in; on cancellation they stop at once (the queue is
/// left usable, so the loop can run again, e.g. under ``LeaderElector``'s `whileLeading`).
public final class ControllerLoop<R: Reconciler>: Service, Sendable {
    /// Name used in logs.
    public let name: String
    /// The reconciler.
    public let reconciler: R
    /// The queue feeding the workers.
    public let queue: WorkQueue<R.Key>
    /// Number of concurrent workers (a key is never processed by two at once).
    public let workers: Int
    /// Informers that must have synced before the first reconcile.
    public let informers: [any AnyInformer]

    private let logger: Logger
    private let reconcileCounter = Atomic<UInt64>(0)

    /// Creates a controller loop.
    /// - Parameters:
    ///   - name: Name for logs.
    ///   - reconciler: The reconciler.
    ///   - queue: The work queue (feed it from informer handlers). Default a new queue.
    ///   - workers: Concurrent workers. Default 1.
    ///   - waitingFor: Informers to wait for before reconciling.
    ///   - logger: Logger.
    public init(
        name: String, reconciler: R, queue: WorkQueue<R.Key> = WorkQueue(), workers: Int = 1,
        waitingFor informers: [any AnyInformer] = [], logger: Logger = Logger(label: "KubernetesRuntime.Controller")
    ) {
        self.name = name
        self.reconciler = reconciler
        self.queue = queue
        self.workers = max(1, workers)
        self.informers = informers
        var logger = logger
        logger[metadataKey: "controller"] = "\(name)"
        self.logger = logger
    }

    /// Waits for the informers, then runs the workers until shutdown or cancellation.
    public func run() async throws {
        let queue = self.queue
        try await withGracefulShutdownHandler {
            for informer in informers {
                do {
                    try await informer.waitForSync(timeout: nil)
                } catch is CancellationError {
                    return
                } catch InformerError.stopped {
                    return
                }
            }
            logger.debug("controller workers starting", metadata: ["workers": "\(workers)"])
            await withDiscardingTaskGroup { group in
                for _ in 0..<workers {
                    group.addTask { await self.work() }
                }
            }
            logger.debug("controller workers stopped")
        } onGracefulShutdown: {
            queue.shutDown()
        }
    }

    /// One worker: take, reconcile, settle, until the queue stops handing out keys.
    private func work() async {
        while let key = await queue.next() {
            await process(key)
            queue.done(key)
        }
    }

    private func process(_ key: R.Key) async {
        let id = reconcileCounter.add(1, ordering: .relaxed).newValue
        var logger = self.logger
        logger[metadataKey: "reconcile.key"] = "\(key)"
        logger[metadataKey: "reconcile.id"] = "\(id)"
        do {
            switch try await reconciler.reconcile(key, logger: logger) {
            case .awaitChange:
                queue.forget(key)
            case .requeue(let delay):
                queue.forget(key)
                queue.add(key, after: delay)
            case .requeueWithBackoff:
                queue.addRateLimited(key)
            }
        } catch is CancellationError {
            // Stopping: keep the key for the next run (a no-op once the queue is shut down).
            queue.add(key)
        } catch let error as TerminalReconcileError {
            queue.forget(key)
            logger.error("reconcile failed permanently", metadata: ["error": "\(error)"])
        } catch {
            queue.addRateLimited(key)
            logger.warning(
                "reconcile failed, will retry",
                metadata: ["error": "\(error)", "failures": "\(queue.failures(for: key))"])
        }
    }
}
