import Foundation
import JupyterProtocol

extension KernelSupervisor {
    /// How a kernel leaves the gateway.
    enum Ending: Sendable {
        /// DELETE, a session's end, or the gateway stopping with a kernel it owns: the process goes.
        case shutdown
        /// Idle too long: clients see `dead` first, then as shutdown.
        case cull
        /// The gateway stops and the kernel (a pod) stays for the next one: replies to requests already sent are
        /// awaited (bounded), clients are closed with "going away" (1001), the pod keeps running.
        case detach(drain: Duration)
        /// Another replica shut it down or culled it: clients are told, nothing is stopped from here.
        case endedElsewhere(culled: Bool)
    }

    /// Interrupts the kernel: SIGINT, or `interrupt_request` on control for `interrupt_mode: message`.
    func interrupt() async throws(GatewayError) {
        kernel.recordActivity(now: context.now())
        guard kernel.phase == .running, let process = kernel.process else {
            throw .kernelUnavailable(id: id, state: kernel.model().executionState)
        }
        switch process.supportsSignals ? kernel.spec.interruptMode : .message {
        case .signal:
            do { try await process.interruptBySignal() } catch { throw .internalError("Interrupt failed: \(error)") }
        case .message:
            guard let connection = kernel.connection else { throw .kernelUnavailable(id: id, state: "disconnected") }
            let request = MessageFactory.make(msgType: "interrupt_request", content: [:], session: "gateway-\(id)")
            do {
                _ = try await connection.request(request, channel: .control, timeout: .seconds(10))
            } catch {
                throw .timeout("The kernel did not acknowledge the interrupt")
            }
        }
    }

    /// Restarts the kernel (same id, new process: in place in its pod when it can) and returns once it answers.
    func restart() async throws(GatewayError) {
        kernel.recordActivity(now: context.now())
        switch kernel.handle(.restartRequested) {
        case .proceedWithRestart: break
        case .reject(let reason): throw .kernelUnavailable(id: id, state: reason)
        default: throw .kernelUnavailable(id: id, state: kernel.model().executionState)
        }
        context.metrics.kernelRestarted(automatic: false)
        // What clients send meanwhile waits for the new process to be ready.
        let heldConnection = kernel.connection
        heldConnection?.holdClientMessages()
        defer { heldConnection?.releaseClientMessages() }
        if await restartInPlace() { return }
        if let process = kernel.process {
            await stopProcess(process, restart: true)
            await process.cleanUp()
        }
        kernel.connection?.resetIopubSeen(untilProbed: true)
        do {
            try await relaunch()
        } catch {
            await act(on: kernel.handle(.launchFailed(Self.startFailure(error))))
            throw error
        }
        logger.info("kernel restarted", metadata: ["kernel_id": "\(id)"])
    }

    /// A new kernel process in the same pod (the pod, and its GPU, stay): the pod's supervisor starts it after a
    /// `shutdown_request` with `restart: true`. Returns false when the kernel cannot restart in place or did not
    /// come back (then it is relaunched).
    private func restartInPlace() async -> Bool {
        guard let process = kernel.process, !process.hasExited, process.restartsInPlace, let connection = kernel.connection else {
            return false
        }
        // Until the new process answers a probe on iopub, the SUB socket may still be (re)joining it: the old
        // process's last messages don't count.
        connection.resetIopubSeen(untilProbed: true)
        let request = MessageFactory.make(msgType: "shutdown_request", content: ["restart": .bool(true)], session: "gateway-\(id)")
        _ = try? await connection.request(request, channel: .control, timeout: context.configuration.shutdownGracePeriod)
        // The old process replied and is exiting: a probe it might still answer must not count.
        try? await Task.sleep(for: .milliseconds(300))
        do {
            try await waitUntilReady(connection: connection, process: process, timeout: launchTimeout)
        } catch {
            logger.warning("in-place restart failed, relaunching", metadata: ["kernel_id": "\(id)", "error": "\(error)"])
            return false
        }
        _ = kernel.handle(.ready(at: context.now()))
        logger.info("kernel restarted in place", metadata: ["kernel_id": "\(id)"])
        return true
    }

    /// Ends the kernel's life in the gateway. Returns false when another ending is already under way (then
    /// waits, bounded, for it to finish).
    @discardableResult
    func end(_ ending: Ending, reason: String) async -> Bool {
        let event: KernelLifecycle.Event
        switch ending {
        case .shutdown: event = .shutdownRequested
        case .cull: event = .cullRequested
        case .detach: event = .detachRequested
        case .endedElsewhere(let culled): event = culled ? .cullRequested : .shutdownRequested
        }
        guard kernel.handle(event) == .proceedWithShutdown else {
            _ = await withDeadline(.seconds(15)) { [finished] in try? await finished.wait() }
            return false
        }
        stopRequested.open()
        switch ending {
        case .cull, .endedElsewhere(culled: true): broadcastStatus("dead")
        default: break
        }
        switch ending {
        case .detach(let drain):
            if let connection = kernel.connection {
                await connection.waitForPendingReplies(timeout: drain)
                let cursors = connection.closeAllClients(reason: .gatewayStopping)
                connection.disconnect()
                // Where each session's client stopped receiving: the replica it reconnects to replays from there.
                if !cursors.isEmpty { await kernel.process?.recordIopubCursors(cursors) }
            }
        case .endedElsewhere:
            if let connection = kernel.connection {
                connection.closeAllClients(reason: .kernelStopped(reason))
                connection.disconnect()
            }
        case .shutdown, .cull:
            if let process = kernel.process {
                // Other replicas drop the kernel instead of waiting for a relaunch.
                await process.announceEnding(culled: ending.isCull)
                await stopProcess(process, restart: false)
                await process.cleanUp()
            }
            if let connection = kernel.connection {
                connection.closeAllClients(reason: .kernelStopped(reason))
                connection.disconnect()
            }
        }
        _ = kernel.handle(.shutdownCompleted)
        kernel.takeGPUSeconds(into: context.metrics)
        finished.open()
        return true
    }

    /// `shutdown_request` (restart or not), then SIGTERM (or pod deletion) after the grace period.
    private func stopProcess(_ process: any ProvisionedKernel, restart: Bool) async {
        let grace = context.configuration.shutdownGracePeriod
        if !process.hasExited, let connection = kernel.connection {
            let request = MessageFactory.make(msgType: "shutdown_request", content: ["restart": .bool(restart)],
                                              session: "gateway-\(id)")
            _ = try? await connection.request(request, channel: .control, timeout: grace)
            if !process.restartsInPlace {  // a supervised kernel is started again: terminate it right away
                _ = await withDeadline(grace) { await process.waitForExitOrCancellation() }
            }
        }
        await process.terminate(grace: grace)
    }
}

extension KernelSupervisor.Ending {
    /// Whether this ending is culling.
    var isCull: Bool {
        if case .cull = self { return true }
        return false
    }

    /// Whether this ending leaves the kernel running.
    var isDetach: Bool {
        if case .detach = self { return true }
        return false
    }
}
