import Foundation
import KubernetesAPI
import Synchronization
import Testing

@testable import KubernetesRuntime

@Suite("leader election")
struct LeaderElectionTests {
    private func configuration(_ identity: String) -> LeaderElectionConfiguration {
        LeaderElectionConfiguration(
            leaseName: "controller", namespace: "test", identity: identity, leaseDuration: .seconds(2),
            renewDeadline: .milliseconds(1500), retryPeriod: .milliseconds(200))
    }

    /// Runs two electors and a monitor that records whether both ever claimed leadership at once.
    private func withTwoElectors(
        _ server: FakeHTTPServer, whileLeading: (@Sendable () async throws -> Void)? = nil,
        _ body: @escaping @Sendable (LeaderElector, LeaderElector, @escaping @Sendable (String) -> Void) async throws -> Void
    ) async throws -> Int {
        try await withTestClient(server.url) { client in
            let a = LeaderElector(client: client, configuration: configuration("a"), whileLeading: whileLeading)
            let b = LeaderElector(client: client, configuration: configuration("b"), whileLeading: whileLeading)
            let overlaps = Locked(0)
            let cancelA = Locked(false)
            let cancelB = Locked(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    await withTaskGroup(of: Void.self) { inner in
                        inner.addTask { try? await a.run() }
                        while !cancelA.value, !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                        inner.cancelAll()
                    }
                }
                group.addTask {
                    await withTaskGroup(of: Void.self) { inner in
                        inner.addTask { try? await b.run() }
                        while !cancelB.value, !Task.isCancelled {
                            try? await Task.sleep(for: .milliseconds(10))
                        }
                        inner.cancelAll()
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        if a.isLeader && b.isLeader { overlaps.withLock { $0 += 1 } }
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                }
                defer { group.cancelAll() }
                try await body(a, b) { who in
                    if who == "a" { cancelA.withLock { $0 = true } } else { cancelB.withLock { $0 = true } }
                }
            }
            return overlaps.value
        }
    }

    @Test func onlyOneLeadsAndTheOtherTakesOverAfterARelease() async throws {
        let leases = FakeLeaseServer()
        let working = Locked(0)
        try await FakeHTTPServer.with(leases.handler) { server in
            let overlaps = try await withTwoElectors(server, whileLeading: {
                working.withLock { $0 += 1 }
                defer { working.withLock { $0 -= 1 } }
                try await Task.sleep(for: .seconds(3600))
            }) { a, b, _ in
                try await eventually("a leader") { a.isLeader || b.isLeader }
                // Leadership is stable for a few renew periods.
                try await Task.sleep(for: .seconds(1))
                #expect(a.isLeader != b.isLeader)
                let (leader, follower) = a.isLeader ? (a, b) : (b, a)
                #expect(follower.leader == leader.configuration.identity)
                #expect(working.value == 1)
                let followerEvents = follower.events()
                let start = ContinuousClock.now
                leader.stop()
                try await eventually(timeout: .seconds(5), "takeover") { follower.isLeader }
                #expect(!leader.isLeader)
                // Released, so the follower does not wait for the lease to expire.
                #expect(ContinuousClock.now - start < .milliseconds(1800))
                var iterator = followerEvents.makeAsyncIterator()
                var events: [LeadershipEvent] = []
                while let event = await iterator.next() {
                    events.append(event)
                    if event == .startedLeading { break }
                }
                #expect(events.contains(.startedLeading))
                try await eventually("work moved") { working.value == 1 }
            }
            #expect(overlaps == 0)
            let history = leases.holderHistory
            #expect(history.count >= 3, "holder, released, new holder: \(history)")
            #expect(history.contains(""))
        }
    }

    @Test func aCrashedLeaderIsReplacedAfterTheLeaseExpires() async throws {
        let leases = FakeLeaseServer()
        try await FakeHTTPServer.with(leases.handler) { server in
            let overlaps = try await withTwoElectors(server) { a, b, cancel in
                try await eventually("a leader") { a.isLeader || b.isLeader }
                let leaderName = a.isLeader ? "a" : "b"
                let follower = a.isLeader ? b : a
                let start = ContinuousClock.now
                cancel(leaderName)  // cancelled: no release, the lease must expire
                try await eventually(timeout: .seconds(8), "takeover") { follower.isLeader }
                let waited = ContinuousClock.now - start
                #expect(waited >= .milliseconds(1500), "took over after \(waited), before the lease expired")
                #expect(leases.holder("controller") == follower.configuration.identity)
            }
            #expect(overlaps == 0)
        }
    }

    @Test func invalidTimingsAreRejected() async throws {
        try await withTestClient("http://127.0.0.1:9") { client in
            let elector = LeaderElector(
                client: client,
                configuration: LeaderElectionConfiguration(
                    leaseName: "l", namespace: "n", identity: "me", leaseDuration: .seconds(1),
                    renewDeadline: .seconds(2)))
            await #expect(throws: LeaderElectionError.invalidConfiguration) { try await elector.run() }
        }
    }

    @Test func microTimeHasSixFractionDigits() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let text = MicroTime.format(date)
        #expect(text.hasPrefix("2023-11-14T22:13:20.1234"))
        #expect(text.hasSuffix("Z"))
        #expect(text.count == "2023-11-14T22:13:20.123456Z".count)
    }
}
