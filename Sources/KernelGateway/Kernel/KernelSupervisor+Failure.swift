import Foundation
import JupyterProtocol

extension KernelSupervisor {
    /// The kernel's process (of `generation`) is gone: restart it or declare it dead, as the lifecycle says.
    func processExited(generation: Int, exit: KernelExit) async {
        if case .endedElsewhere(let culled) = exit {
            // Another replica shut it down or culled it: drop it here too (its clients see why).
            await end(.endedElsewhere(culled: culled), reason: "Kernel \(exit)")
            return
        }
        let action = kernel.handle(.processExited(generation: generation, at: context.now(), description: exit.description))
        if action == .restartAutomatically {
            logger.warning("kernel died, restarting", metadata: ["kernel_id": "\(id)", "exit": "\(exit)"])
            // Counted by the replica that relaunches it (the owner), once per death.
            if kernel.process?.isOwnedHere ?? true { context.metrics.kernelRestarted(automatic: true) }
        }
        await act(on: action)
    }

    /// Carries out what the lifecycle decided after a death or a failed (re)launch.
    func act(on action: KernelLifecycle.Action) async {
        switch action {
        case .restartAutomatically: await restartAutomatically()
        case .declareDead(let reason): await declareDead(reason: reason)
        default: break
        }
    }

    /// Relaunches until the kernel answers or the lifecycle gives up. Clients' messages wait meanwhile. A replica
    /// that does not own the kernel relaunches nothing: it follows the owner's relaunch.
    private func restartAutomatically() async {
        let connection = kernel.connection
        connection?.holdClientMessages()
        defer { connection?.releaseClientMessages() }
        if let process = kernel.process, !process.isOwnedHere {
            await followReplacement(of: process)
            return
        }
        while true {
            broadcastStatus("restarting")
            // The old process may still publish while it dies (a pod being deleted gracefully): only the new
            // process's answer to a readiness probe proves the subscription live.
            kernel.connection?.resetIopubSeen(untilProbed: true)
            if let old = kernel.process { await old.cleanUp() }
            do {
                try await relaunch()
                logger.info("kernel restarted automatically", metadata: ["kernel_id": "\(id)"])
                return
            } catch {
                let next = kernel.handle(.launchFailed(Self.startFailure(error)))
                guard next == .restartAutomatically else {
                    if case .declareDead(let reason) = next { await declareDead(reason: reason) }
                    return
                }
            }
        }
    }

    /// Waits for the owning replica's relaunch and serves the new pod; drops the kernel when none comes.
    private func followReplacement(of process: any ProvisionedKernel) async {
        broadcastStatus("restarting")
        kernel.connection?.resetIopubSeen(untilProbed: true)
        guard let resume = await process.awaitReplacement(timeout: launchTimeout) else {
            await end(.endedElsewhere(culled: false), reason: "Kernel died and was not restarted by its owner")
            return
        }
        do {
            try await bringUp(reuse: kernel.connection?.info) { launchContext throws(ProvisionerError) in
                try await resume(launchContext.launchTimeout)
            }
            logger.info("kernel restarted by its owner replica", metadata: ["kernel_id": "\(id)"])
        } catch {
            await end(.endedElsewhere(culled: false), reason: "Kernel restart failed: \(error)")
        }
    }

    /// Launches a new process (or pod) for the kernel, reusing its connection info so the relay stays put.
    func relaunch() async throws(GatewayError) {
        try await bringUp(reuse: kernel.connection?.info) { [provisioner = context.provisioner] launchContext throws(ProvisionerError) in
            try await provisioner.launch(launchContext)
        }
    }

    /// Tells clients the kernel is dead and releases its process (or pod).
    func declareDead(reason: String) async {
        logger.error("kernel is dead", metadata: ["kernel_id": "\(id)", "reason": "\(reason)"])
        broadcastStatus("dead")
        if let process = kernel.process {
            await process.terminate(grace: .seconds(1))
            await process.cleanUp()
        }
    }

    /// Sends a gateway-made iopub `status` to every client.
    func broadcastStatus(_ executionState: String) {
        guard let connection = kernel.connection else { return }
        let parts = MessageFactory.make(msgType: "status", content: ["execution_state": .string(executionState)],
                                        session: "gateway-\(id)")
        connection.broadcast(ChannelMessage(channel: .iopub, parts: parts))
    }
}
