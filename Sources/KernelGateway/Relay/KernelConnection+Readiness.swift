import Foundation
import JupyterProtocol
import KubernetesRuntime

extension KernelConnection {
    /// How a readiness wait ended.
    enum Readiness: Sendable {
        case ready
        case ended(KernelExit)
        case timedOut
        case stopped
    }

    /// Sends `kernel_info_request` (repeated: the kernel may still be binding its sockets) until the kernel is
    /// ready: a `kernel_info_reply` on shell, a live iopub subscription (an iopub message caused by a probe: else
    /// a client's first execute could lose its output to ZeroMQ's slow-joiner window) and a connected stdin
    /// socket (the kernel drops an `input_request` it cannot route). Kernels that publish nothing about probes,
    /// or bind no stdin, are taken as they are after ``lenientAfter``.
    ///
    /// Ends early when `process` exits or `stopped` opens (the kernel is being shut down); nothing here sleeps:
    /// each round waits for a reply or for iopub.
    func waitUntilReady(process: any ProvisionedKernel, timeout: Duration, stopped: Gate) async -> Readiness {
        await withTaskGroup(of: Readiness.self) { group in
            group.addTask { await self.probeUntilReady() }
            group.addTask { await process.waitForExitOrCancellation().map { .ended($0) } ?? .timedOut }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            group.addTask {
                do { try await stopped.wait() } catch { return .timedOut }
                return .stopped
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
    }

    /// After this long, a kernel that answered on shell is ready even without iopub or stdin evidence.
    static let lenientAfter: Duration = .milliseconds(400)

    private func probeUntilReady() async -> Readiness {
        let started = ContinuousClock.now
        while !Task.isCancelled {
            let lenient = ContinuousClock.now - started >= Self.lenientAfter
            if lenient { acceptAnyIopub() }
            let request = MessageFactory.make(msgType: "kernel_info_request", content: [:], session: "gateway-\(kernelID)")
            if let msgID = MessagePeek.peek(request).msgID { noteReadinessProbe(msgID) }
            guard (try? await self.request(request, channel: .shell, timeout: .seconds(2))) != nil else { continue }
            // The probe's own `status` messages prove iopub live; give them a moment to arrive.
            let iopubLive = await waitForIopub(timeout: .milliseconds(50))
            if iopubLive, await stdinConnected() || lenient { return .ready }
            // stdin's handshake is ZeroMQ's own (it retries every 10 ms): pace the next probe to it.
            try? await Task.sleep(for: .milliseconds(10))
        }
        return .timedOut
    }

    /// Whether iopub is (or becomes, within `timeout`) known to be live.
    func waitForIopub(timeout: Duration) async -> Bool {
        let gate = routing.withLock { $0.iopubSeen ? nil : $0.iopubLive }
        guard let gate else { return true }
        return await withDeadline(timeout) { (try? await gate.wait()) != nil } ?? false
    }

    /// Returns once every request clients sent to the kernel has its reply, or after `timeout` (a gateway that
    /// stops lets answers to requests already sent reach their clients).
    public func waitForPendingReplies(timeout: Duration) async {
        let gate: Gate? = routing.withLock { routing in
            guard !routing.awaitingReply.isEmpty else { return nil }
            if routing.repliesDrained == nil { routing.repliesDrained = Gate() }
            return routing.repliesDrained
        }
        guard let gate else { return }
        _ = await withDeadline(timeout) { try? await gate.wait() }
    }
}
