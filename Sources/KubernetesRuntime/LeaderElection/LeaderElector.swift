import Foundation
import KubernetesAPI
import Logging
import ServiceLifecycle
import Synchronization

/// Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: acquire the lease when it
/// is free or expired, renew it every `retryPeriod`, give up leadership if renewal fails for
/// `renewDeadline`, release it when stopping. Every write is an update with the lease's
/// `resourceVersion`, so two candidates never both lead.
///
/// A `Service`. Learn about leadership through ``isLeader``, ``events()``, the callbacks, or give a
/// `whileLeading` closure that runs while leading and is cancelled when leadership ends.
public final class LeaderElector: Service, Sendable {
    /// The settings.
    public let configuration: LeaderElectionConfiguration

    let client: KubernetesClient
    let logger: Logger
    private let onStartedLeading: (@Sendable () -> Void)?
    private let onStoppedLeading: (@Sendable () -> Void)?
    private let onNewLeader: (@Sendable (String) -> Void)?
    private let whileLeading: (@Sendable () async throws -> Void)?
    private let broadcaster = Broadcaster<LeadershipEvent>()

    struct State {
        var running = false
        var isLeader = false
        var observedRecord: LeaseRecord?
        var observedAt: ContinuousClock.Instant = .now
        var reportedLeader: String?
        var stopper: AsyncStream<Void>.Continuation?
        var stopRequested = false
    }

    let state = Mutex(State())

    /// Creates an elector (nothing happens until it runs).
    /// - Parameters:
    ///   - client: The API client.
    ///   - configuration: Lease and timing.
    ///   - logger: Logger.
    ///   - onStartedLeading: Called when this candidate becomes the leader (keep it short).
    ///   - onStoppedLeading: Called when it stops being the leader (keep it short).
    ///   - onNewLeader: Called with the holder's identity when it changes.
    ///   - whileLeading: Runs while leading; cancelled when leadership ends. Returning early does not give up
    ///     leadership.
    public init(
        client: KubernetesClient,
        configuration: LeaderElectionConfiguration,
        logger: Logger = Logger(label: "KubernetesRuntime.LeaderElector"),
        onStartedLeading: (@Sendable () -> Void)? = nil,
        onStoppedLeading: (@Sendable () -> Void)? = nil,
        onNewLeader: (@Sendable (String) -> Void)? = nil,
        whileLeading: (@Sendable () async throws -> Void)? = nil
    ) {
        self.client = client
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "lease"] = "\(configuration.namespace)/\(configuration.leaseName)"
        logger[metadataKey: "identity"] = "\(configuration.identity)"
        self.logger = logger
        self.onStartedLeading = onStartedLeading
        self.onStoppedLeading = onStoppedLeading
        self.onNewLeader = onNewLeader
        self.whileLeading = whileLeading
    }

    /// Whether this candidate currently leads.
    public var isLeader: Bool { state.withLock { $0.isLeader } }

    /// The holder of the lease as last observed (`nil` if unknown or free).
    public var leader: String? {
        state.withLock { state in
            guard let holder = state.observedRecord?.holderIdentity, !holder.isEmpty else { return nil }
            return holder
        }
    }

    /// Leadership changes from now on, until ``run()`` ends.
    public func events() -> AsyncStream<LeadershipEvent> {
        broadcaster.subscribe()
    }

    /// Stops the elector as on graceful shutdown: releases the lease if leading and makes ``run()`` return.
    public func stop() {
        let stopper = state.withLock { state -> AsyncStream<Void>.Continuation? in
            state.stopRequested = true
            return state.stopper
        }
        stopper?.finish()
    }

    /// Campaigns and leads until stopped, gracefully shut down (lease released) or cancelled (lease left
    /// to expire). Call once.
    /// - Throws: ``LeaderElectionError``.
    public func run() async throws {
        guard configuration.isValid else { throw LeaderElectionError.invalidConfiguration }
        let (stopSignal, stopper) = AsyncStream.makeStream(of: Void.self)
        let alreadyStopped = try state.withLock { state -> Bool in
            guard !state.running else { throw LeaderElectionError.alreadyRunning }
            state.running = true
            state.stopper = stopper
            return state.stopRequested
        }
        if alreadyStopped { stopper.finish() }
        defer {
            state.withLock { $0.stopper = nil }
            broadcaster.finish()
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.campaign() }
                group.addTask { for await _ in stopSignal {} }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopper.finish()
        }
        if isLeader {
            if configuration.releaseOnStop, !Task.isCancelled {
                await release()
            }
            setLeading(false)
        }
        logger.debug("leader election stopped")
    }

    // MARK: Campaign

    /// Acquire, lead until lost, repeat; returns when cancelled.
    private func campaign() async {
        while !Task.isCancelled {
            guard await acquire() else { return }
            setLeading(true)
            await lead()
            if Task.isCancelled { return }
            setLeading(false)
        }
    }

    /// Tries every `retryPeriod` until the lease is ours; `false` when cancelled.
    private func acquire() async -> Bool {
        while !Task.isCancelled {
            if await attempt() { return true }
            let jittered = configuration.retryPeriod * Double.random(in: 1.0..<1.2)
            guard await sleepUnlessCancelled(jittered) else { return false }
        }
        return false
    }

    /// Renews until renewal fails for `renewDeadline`, running `whileLeading` meanwhile.
    private func lead() async {
        enum Outcome { case lost, workEnded }
        await withTaskGroup(of: Outcome.self) { group in
            if let whileLeading {
                group.addTask {
                    do {
                        try await whileLeading()
                    } catch is CancellationError {
                    } catch {
                        self.logger.error("whileLeading failed", metadata: ["error": "\(error)"])
                    }
                    return .workEnded
                }
            }
            group.addTask {
                await self.renewUntilLost()
                return .lost
            }
            while let outcome = await group.next() {
                if outcome == .lost { break }
            }
            group.cancelAll()
        }
    }

    private func renewUntilLost() async {
        var lastRenew = ContinuousClock.now
        while await sleepUnlessCancelled(configuration.retryPeriod) {
            let remaining = configuration.renewDeadline - (ContinuousClock.now - lastRenew)
            let renewed = remaining > .zero ? ((try? await withTimeLimit(remaining) { await self.attempt() }) ?? nil) : nil
            if Task.isCancelled { return }
            if renewed == true {
                lastRenew = .now
            } else if ContinuousClock.now - lastRenew >= configuration.renewDeadline {
                logger.warning("could not renew the lease in time; leadership lost")
                return
            }
        }
    }

    // MARK: State changes

    private func setLeading(_ leading: Bool) {
        let changed = state.withLock { state -> Bool in
            defer { state.isLeader = leading }
            return state.isLeader != leading
        }
        guard changed else { return }
        logger.info(leading ? "started leading" : "stopped leading")
        broadcaster.yield(leading ? .startedLeading : .stoppedLeading)
        if leading { onStartedLeading?() } else { onStoppedLeading?() }
    }

    /// Records an observed lease record (restarting the expiry clock when it changed) and reports a new holder.
    func observe(_ record: LeaseRecord) {
        let newLeader = state.withLock { state -> String? in
            if state.observedRecord != record {
                state.observedRecord = record
                state.observedAt = .now
            }
            let holder = record.holderIdentity
            guard !holder.isEmpty, holder != state.reportedLeader else { return nil }
            state.reportedLeader = holder
            return holder
        }
        if let newLeader {
            broadcaster.yield(.newLeader(newLeader))
            onNewLeader?(newLeader)
        }
    }
}
