import Foundation
import KubernetesAPI
import Testing

@testable import KubernetesRuntime

/// The runtime against the project's fake API server (tests/fakekube).
@Suite("fakekube runtime integration", .enabled(if: FakeKube.isAvailable), .timeLimit(.minutes(2)))
struct FakeKubeRuntimeTests {
    @Test func informerRelistsAfterExpiredHistoryAndConverges() async throws {
        try await FakeKube.with { kube in
            try await KubernetesClient.withClient(configuration: try kube.configuration()) { client in
                let ns = try await client.makeTestNamespace("inf")
                for name in ["p1", "p2", "p3"] {
                    var pod = KubeObject(.pods, name: name, namespace: ns)
                    pod.labels = ["app": "kernel"]
                    pod.spec = ["containers": [["name": "c", "image": "x"]]]
                    _ = try await client.create(.pods, pod)
                }
                let informer = Informer<KubeObject>(
                    client: client, resource: .pods, namespace: ns, labelSelector: "app=kernel",
                    configuration: InformerConfiguration(
                        watchTimeout: .seconds(20), pageSize: 2, initialBackoff: .milliseconds(50),
                        maxBackoff: .milliseconds(500)))
                let seen = Locked<[String]>([])
                informer.addHandler { event in
                    switch event {
                    case .added(let o): seen.withLock { $0.append("added \(o.name)") }
                    case .updated(_, let o): seen.withLock { $0.append("updated \(o.name)") }
                    case .deleted(let o): seen.withLock { $0.append("deleted \(o.name)") }
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await informer.run() }
                    defer { group.cancelAll() }
                    try await informer.waitForSync(timeout: .seconds(10))
                    #expect(informer.store.keys.map(\.name) == ["p1", "p2", "p3"])

                    var p4 = KubeObject(.pods, name: "p4", namespace: ns)
                    p4.labels = ["app": "kernel"]
                    p4.spec = ["containers": [["name": "c", "image": "x"]]]
                    _ = try await client.create(.pods, p4)
                    try await eventually("p4 watched") { informer.store.get(namespace: ns, name: "p4") != nil }

                    // The next watch is held back by the server while history moves on and is compacted:
                    // resuming from the informer's resourceVersion then gets 410 Expired.
                    _ = try await client.fakeControl(
                        .POST, "faults", body: ["action": "delay", "delay": 1.5, "watch": true, "count": 1, "path": "/pods"])
                    _ = try await client.fakeControl(.POST, "watches/drop")
                    try await client.delete(.pods, name: "p1", namespace: ns)
                    var p5 = p4
                    p5.name = "p5"
                    _ = try await client.create(.pods, p5)
                    _ = try await client.patch(
                        .pods, name: "p2", namespace: ns, patch: ["metadata": ["labels": ["app": "other"]]] as KubeJSON,
                        as: KubeObject.self)
                    _ = try await client.fakeControl(.POST, "history/expire")

                    try await eventually(timeout: .seconds(15), "re-listed store") {
                        informer.store.keys.map(\.name) == ["p3", "p4", "p5"]
                    }
                    let events = seen.value
                    #expect(events.contains("deleted p1"))
                    #expect(events.contains("deleted p2"), "p2 no longer matches the selector")
                    #expect(events.contains("added p5"))
                    let lists = try await client.fakeControl(.GET, "requests?path=/pods$&watch=false")
                    let firstPages = lists["items"]?.arrayValue?.filter {
                        $0["method"] == "GET" && !($0["query"]?.stringValue ?? "").contains("continue")
                    }
                    #expect((firstPages?.count ?? 0) >= 2, "initial list and re-list")
                }
            }
        }
    }

    @Test func leaderElectionOnALeaseHandsOver() async throws {
        try await FakeKube.with { kube in
            try await KubernetesClient.withClient(configuration: try kube.configuration()) { client in
                let ns = try await client.makeTestNamespace("le")
                func elector(_ id: String) -> LeaderElector {
                    LeaderElector(
                        client: client,
                        configuration: LeaderElectionConfiguration(
                            leaseName: "controller", namespace: ns, identity: id, leaseDuration: .seconds(2),
                            renewDeadline: .milliseconds(1500), retryPeriod: .milliseconds(200)))
                }
                let a = elector("a")
                let b = elector("b")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await a.run() }
                    group.addTask { try await b.run() }
                    defer { group.cancelAll() }
                    try await eventually("a leader") { a.isLeader || b.isLeader }
                    try await Task.sleep(for: .milliseconds(600))
                    #expect(a.isLeader != b.isLeader)
                    let (leader, follower) = a.isLeader ? (a, b) : (b, a)
                    let lease = try await client.get(.leases, name: "controller", namespace: ns, as: KubeObject.self)
                    #expect(lease.spec?["holderIdentity"]?.stringValue == leader.configuration.identity)
                    leader.stop()
                    try await eventually(timeout: .seconds(5), "takeover") { follower.isLeader }
                    #expect(!leader.isLeader)
                    let after = try await client.get(.leases, name: "controller", namespace: ns, as: KubeObject.self)
                    #expect(after.spec?["holderIdentity"]?.stringValue == follower.configuration.identity)
                    #expect((after.spec?["leaseTransitions"]?.intValue ?? 0) >= 1)
                }
            }
        }
    }
}
