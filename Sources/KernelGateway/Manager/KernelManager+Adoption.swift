import Foundation

/// Adoption: kernels this gateway did not start in this process (left running by an earlier process, or started
/// by another replica) are registered and served like its own.
extension KernelManager {
    /// Registers every kernel an earlier gateway process left running (listed at once, `starting`) and probes
    /// each in the background: one that answers is served as before, one that does not takes the failure path.
    /// Returns once each answers or failed (bounded by ``KernelManagerConfiguration/adoptionSettleTimeout``): a
    /// replica is ready only when it already relays the kernels' output, so a client that reconnects to it during a
    /// rolling update finds what it missed.
    func adoptRunningKernels() async {
        let adopted = await adopt(await context.provisioner.runningKernels())
        guard !adopted.isEmpty else { return }
        let settled = await withDeadline(configuration.adoptionSettleTimeout) {
            for supervisor in adopted { try? await supervisor.settled.wait() }
            return true
        }
        if settled == nil {
            logger.warning("ready before every adopted kernel answered", metadata: [
                "kernels": "\(adopted.count)", "waited_seconds": "\(configuration.adoptionSettleTimeout.components.seconds)",
            ])
        }
    }

    @discardableResult
    private func adopt(_ found: [RunningKernel]) async -> [KernelSupervisor] {
        var adopted: [KernelSupervisor] = []
        for running in found where supervisors[running.kernelID] == nil {
            guard let spec = catalog.spec(named: running.kernelSpecName) else {
                logger.warning("not adopting a kernel of an unknown kernelspec; it is left as it is", metadata: [
                    "kernel_id": "\(running.kernelID)", "kernelspec": "\(running.kernelSpecName)",
                ])
                continue
            }
            var launchContext = LaunchContext(kernelID: running.kernelID, spec: spec, environment: running.environment,
                                              workingDirectory: running.workingDirectory, user: running.user)
            launchContext.workspace = running.workspace
            launchContext.notebookPath = running.notebookPath
            launchContext.namespace = running.namespace
            let lifecycle = KernelLifecycle(autoRestart: configuration.autoRestart, maxAutomaticRestarts: configuration.maxRestartAttempts,
                                            adopting: true, restarts: running.restarts)
            let kernel = ManagedKernel(launchContext: launchContext, lifecycle: lifecycle, now: running.createdAt,
                                       lastActivity: running.lastActivity ?? running.createdAt)
            let supervisor = KernelSupervisor(kernel: kernel, context: context)
            track(supervisor)
            adopted.append(supervisor)
            context.spawn { await supervisor.adopt(running.resume) }
        }
        return adopted
    }

    /// A kernel seen running where kernels are kept (from the pod watch): one this replica does not know yet
    /// (another replica started it) is adopted; for a known one, activity recorded elsewhere counts here too.
    func noteRunning(_ running: RunningKernel) async {
        guard ready else { return }
        if let known = supervisors[running.kernelID] {
            if let shared = running.lastActivity { known.kernel.noteSharedActivity(shared) }
            return
        }
        await adopt([running])
    }
}
