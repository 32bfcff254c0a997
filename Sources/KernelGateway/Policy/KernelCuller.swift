import Foundation
import Logging
import ServiceLifecycle

/// Culls idle (or too old) kernels every `interval`, so their CPU, memory and GPUs go back. A culled
/// kernel is shut down exactly like DELETE; its clients get a `dead` status and a clean close.
///
/// With several replicas, each culls only the kernels it owns, so one kernel is never culled twice; the idle time
/// it sees includes the activity other replicas record on the kernel's pod.
public struct KernelCuller: Service {
    /// The kernels, their clocks and the shutdown path.
    let manager: KernelManager
    /// The global settings; each kernelspec may override them (``CullConfiguration/applying(overridesOf:)``).
    let configuration: CullConfiguration
    /// Where each cull (and a failed one) is logged.
    let logger: Logger

    /// Creates a culler for a manager (whose clock it uses).
    public init(manager: KernelManager, configuration: CullConfiguration, logger: Logger) {
        self.manager = manager
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs a culling pass every `interval` (at least 50 ms) until cancelled or a graceful shutdown begins.
    public func run() async throws {
        let interval = Seconds.duration(max(0.05, configuration.interval.isFinite ? configuration.interval : 60))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                await cullOnce()
            }
        }
    }

    /// One culling pass. Returns the ids of the kernels culled.
    @discardableResult
    public func cullOnce() async -> [String] {
        let now = manager.now()
        var culled: [String] = []
        // Exactly one replica culls each kernel: the one that owns it.
        for kernel in await manager.allKernels() where kernel.process?.isOwnedHere ?? true {
            let settings = configuration.applying(overridesOf: kernel.spec)
            let decision = CullPolicy.decide(kernel.cullCandidate(), configuration: settings, now: now)
            guard case .cull(let reason) = decision else { continue }
            logger.notice("culling kernel", metadata: [
                "kernel_id": "\(kernel.id)", "kernelspec": "\(kernel.spec.name)", "user": "\(kernel.user ?? "-")",
                "reason": "\(reason)", "cull_kind": "\(reason.kind.rawValue)",
            ])
            do {
                try await manager.cull(kernel.id, reason: "Kernel culled: \(reason)")
                manager.metrics.kernelCulled(reason.kind)
                culled.append(kernel.id)
            } catch {
                logger.warning("culling failed", metadata: ["kernel_id": "\(kernel.id)", "error": "\(error)"])
            }
        }
        return culled
    }
}
