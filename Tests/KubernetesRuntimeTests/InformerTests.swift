import Foundation
import KubernetesAPI
import Synchronization
import Testing

@testable import KubernetesRuntime

@Suite("informer")
struct InformerTests {
    private let fast = InformerConfiguration(
        watchTimeout: .seconds(30), pageSize: nil, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200))

    private static func list(_ rv: String, _ items: [KubeJSON]) -> FakeResponse {
        .json(200, ["kind": "PodList", "apiVersion": "v1", "metadata": ["resourceVersion": .string(rv)], "items": .array(items)])
    }

    /// List → watch → 410 → re-list → watch ends → resume from the bookmark → more events.
    private static let relistScript: FakeHTTPServer.Handler = {
        let lists = Locked(0)
        return { request in
            if request.query["watch"] != "true" {
                let n = lists.withLock { count -> Int in
                    count += 1
                    return count
                }
                return n == 1
                    ? list("10", [podJSON("a", rv: "5"), podJSON("b", rv: "6")])
                    : list("20", [podJSON("b", rv: "12"), podJSON("c", rv: "13")])
            }
            switch request.query["resourceVersion"] {
            case "10":
                return .stream(status: 200, chunks: [
                    .data(watchLine("MODIFIED", podJSON("a", rv: "11"))),
                    .data(watchLine("ERROR", ["kind": "Status", "code": 410, "reason": "Expired", "message": "too old"])),
                    .hold,
                ])
            case "20":
                return .stream(status: 200, chunks: [
                    .data(watchLine("BOOKMARK", ["kind": "Pod", "apiVersion": "v1", "metadata": ["resourceVersion": "25"]])),
                ])
            case "25":
                return .stream(status: 200, chunks: [.data(watchLine("ADDED", podJSON("d", rv: "26"))), .hold])
            default:
                return .status(500, reason: "InternalError", message: "unexpected rv \(request.query["resourceVersion"] ?? "-")")
            }
        }
    }()

    private func describe(_ event: InformerEvent<KubeObject>) -> String {
        switch event {
        case .added(let o): return "added \(o.name)@\(o.resourceVersion ?? "")"
        case .updated(let old, let new): return "updated \(new.name)@\(old.resourceVersion ?? "")->\(new.resourceVersion ?? "")"
        case .deleted(let o): return "deleted \(o.name)"
        }
    }

    @Test func goneTriggersARelistAndWatchesResumeFromTheLastVersion() async throws {
        try await FakeHTTPServer.with(Self.relistScript) { server in
            try await withTestClient(server.url) { client in
                let informer = Informer<KubeObject>(client: client, resource: .pods, namespace: "test", configuration: fast)
                let changes = informer.changes()
                let seen = try await withThrowingTaskGroup(of: [String]?.self) { group in
                    group.addTask {
                        try await informer.run()
                        return nil
                    }
                    group.addTask {
                        var seen: [String] = []
                        for await event in changes {
                            seen.append(describe(event))
                            if seen.count == 7 { break }
                        }
                        return seen
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(10))
                        throw TimedOut(what: "informer events")
                    }
                    defer { group.cancelAll() }
                    while let result = try await group.next() {
                        if let seen = result { return seen }
                    }
                    return []
                }
                #expect(seen[0..<2].sorted() == ["added a@5", "added b@6"])
                #expect(seen[2] == "updated a@5->11")
                #expect(seen[3..<6].sorted() == ["added c@13", "deleted a", "updated b@6->12"])
                #expect(seen[6] == "added d@26")
                #expect(informer.store.keys.map(\.description) == ["test/b", "test/c", "test/d"])
                #expect(informer.hasSynced)
                let calls = server.requests.map { ($0.query["watch"] == "true" ? "watch " : "list ") + ($0.query["resourceVersion"] ?? "") }
                #expect(calls == ["list ", "watch 10", "list ", "watch 20", "watch 25"])
                let watch = try #require(server.requests.first { $0.query["watch"] == "true" })
                #expect(watch.query["allowWatchBookmarks"] == "true")
                #expect(Int(watch.query["timeoutSeconds"] ?? "") ?? 0 >= 30)
            }
        }
    }

    @Test func lateHandlersGetTheStoreReplayedAndWaitForSyncIsBounded() async throws {
        let handler: FakeHTTPServer.Handler = { request in
            request.query["watch"] == "true"
                ? .stream(status: 200, chunks: [.hold])
                : Self.list("3", [podJSON("x", rv: "1", labels: ["app": "kernel"]), podJSON("y", rv: "2")])
        }
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                let informer = Informer<KubeObject>(client: client, resource: .pods, namespace: "test", configuration: fast)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await informer.run() }
                    defer { group.cancelAll() }
                    try await informer.waitForSync(timeout: .seconds(5))
                    let replayed = Locked<[String]>([])
                    informer.addHandler { event in replayed.withLock { $0.append(event.object.name) } }
                    #expect(replayed.value.sorted() == ["x", "y"])
                    #expect(informer.store.list(matchingLabels: ["app": "kernel"]).map(\.name) == ["x"])
                    #expect(informer.store.get(namespace: "test", name: "y")?.resourceVersion == "2")
                    await #expect(throws: InformerError.alreadyRunning) { try await informer.run() }
                }
            }
        }
        try await FakeHTTPServer.with({ _ in .status(500, reason: "InternalError") }) { server in
            try await withTestClient(server.url, retry: .none) { client in
                let informer = Informer<KubeObject>(client: client, resource: .pods, configuration: fast)
                await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await informer.run() }
                    defer { group.cancelAll() }
                    await #expect(throws: InformerError.syncTimedOut(.milliseconds(300))) {
                        try await informer.waitForSync(timeout: .milliseconds(300))
                    }
                    #expect(!informer.hasSynced)
                }
            }
        }
    }

    @Test func factorySharesOneWatchPerCollection() async throws {
        let handler: FakeHTTPServer.Handler = { request in
            request.query["watch"] == "true" ? .stream(status: 200, chunks: [.hold]) : Self.list("1", [])
        }
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                let factory = InformerFactory(client: client, configuration: fast)
                let a = factory.informer(for: .pods, namespace: "n", labelSelector: "app=kernel", as: KubeObject.self)
                let b = factory.informer(for: .pods, namespace: "n", labelSelector: "app=kernel", as: KubeObject.self)
                let c = factory.informer(for: .secrets, namespace: "n", as: KubeObject.self)
                #expect(a === b)
                #expect(factory.informers.count == 2)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await factory.run() }
                    defer { group.cancelAll() }
                    try await factory.waitForSync(timeout: .seconds(5))
                    // Made after the factory started: it is run too.
                    let late = factory.informer(for: .configMaps, namespace: "n", as: KubeObject.self)
                    try await late.waitForSync(timeout: .seconds(5))
                    #expect(c.hasSynced)
                    try await eventually("three watches") {
                        server.requests.filter { $0.query["watch"] == "true" }.count == 3
                    }
                }
                #expect(server.requests.filter { $0.query["watch"] != "true" }.count == 3)
            }
        }
    }
}
