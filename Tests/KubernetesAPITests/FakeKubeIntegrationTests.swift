import Foundation
import Testing

@testable import KubernetesAPI

/// Against the project's fake API server (tests/fakekube), over HTTP and over TLS with a client certificate.
@Suite("fakekube integration", .enabled(if: FakeKube.isAvailable), .timeLimit(.minutes(2)))
struct FakeKubeIntegrationTests {
    @Test func crudWatchStatusAndExpiryOverHTTP() async throws {
        try await FakeKube.with { kube in
            let configuration = try kube.configuration()
            #expect(configuration.server.hasPrefix("http://"))
            try await KubernetesClient.withClient(configuration: configuration) { client in
                try await exercise(client)
            }
        }
    }

    @Test func tlsWithAClientCertificateFromTheKubeconfig() async throws {
        try await FakeKube.with(tls: true) { kube in
            let configuration = try kube.configuration()
            #expect(configuration.server.hasPrefix("https://"))
            #expect(configuration.tls.clientCertificatePEM != nil)
            #expect(configuration.tls.certificateAuthorityPEM != nil)
            try await KubernetesClient.withClient(configuration: configuration) { client in
                let ns = try await client.makeTestNamespace("tls")
                var secret = KubeObject(.secrets, name: "conn", namespace: ns)
                secret.data = ["key": .string(Data("s3cret".utf8).base64EncodedString())]
                secret["type"] = "Opaque"
                let created = try await client.create(.secrets, secret)
                let read = try await client.get(.secrets, name: "conn", namespace: ns, as: KubeObject.self)
                #expect(read.uid == created.uid)
                #expect(read.data?["key"]?.stringValue == Data("s3cret".utf8).base64EncodedString())
                let list = try await client.list(.secrets, namespace: ns, as: KubeObject.self)
                #expect(list.items.map(\.name).contains("conn"))
                let stream = try await client.watch(
                    .secrets, namespace: ns, options: WatchOptions(resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 10),
                    as: KubeObject.self)
                try await client.delete(.secrets, name: "conn", namespace: ns)
                let deleted = try await firstEvent(in: stream) { $0.type == .deleted }
                #expect(deleted.object?.name == "conn")
                let requests = try await client.fakeControl(.GET, "requests")
                let users = Set(requests["items"]?.arrayValue?.compactMap { $0["user"]?.stringValue } ?? [])
                #expect(users.contains("fakekube-admin"), "client certificate CN seen by the server: \(users)")
            }
            // Without the client certificate the server refuses us.
            var anonymous = configuration
            anonymous.tls.clientCertificatePEM = nil
            anonymous.tls.clientKeyPEM = nil
            try await KubernetesClient.withClient(configuration: anonymous, retryPolicy: .none) { client in
                await #expect(throws: KubernetesError.self) {
                    _ = try await client.list(.namespaces, as: KubeObject.self)
                }
            }
            // Without the CA the server certificate is not trusted.
            var untrusting = configuration
            untrusting.tls.certificateAuthorityPEM = nil
            try await KubernetesClient.withClient(configuration: untrusting, retryPolicy: .none) { client in
                await #expect(throws: KubernetesError.self) {
                    _ = try await client.list(.namespaces, as: KubeObject.self)
                }
            }
            // ... unless verification is skipped (kubeconfig `insecure-skip-tls-verify: true`).
            var insecure = untrusting
            insecure.tls.insecureSkipVerify = true
            try await KubernetesClient.withClient(configuration: insecure, retryPolicy: .none) { client in
                let namespaces = try await client.list(.namespaces, as: KubeObject.self)
                #expect(namespaces.items.contains { $0.name == "default" })
            }
        }
    }

    private func exercise(_ client: KubernetesClient) async throws {
        let ns = try await client.makeTestNamespace()
        var pod = KubeObject(.pods, name: "p1", namespace: ns)
        pod.labels = ["app": "kernel"]
        pod.spec = ["containers": [["name": "kernel", "image": "python:3.12"]]]
        let created = try await client.create(.pods, pod)
        #expect(created.uid != nil)
        #expect(created.resourceVersion != nil)
        do {
            _ = try await client.create(.pods, pod)
            Issue.record("duplicate create must fail")
        } catch KubernetesError.alreadyExists {
        }

        let read = try await client.get(.pods, name: "p1", namespace: ns, as: KubeObject.self)
        #expect(read.uid == created.uid)
        let selected = try await client.list(.pods, namespace: ns, options: ListOptions(labelSelector: "app=kernel"), as: KubeObject.self)
        #expect(selected.items.map(\.name) == ["p1"])
        #expect(selected.items.first?.kind == "Pod")
        let none = try await client.list(.pods, namespace: ns, options: ListOptions(labelSelector: "app notin (kernel)"), as: KubeObject.self)
        #expect(none.items.isEmpty)
        let byName = try await client.list(.pods, namespace: ns, options: ListOptions(fieldSelector: "metadata.name=p1"), as: KubeObject.self)
        #expect(byName.items.count == 1)
        let listVersion = try #require(selected.metadata.resourceVersion)

        let stream = try await client.watch(
            .pods, namespace: ns, options: WatchOptions(resourceVersion: listVersion, timeoutSeconds: 20), as: KubeObject.self)

        let patched = try await client.patch(
            .pods, name: "p1", namespace: ns, patch: ["metadata": ["labels": ["x": "1"]]] as KubeJSON, as: KubeObject.self)
        #expect(patched.labels == ["app": "kernel", "x": "1"])

        let withStatus = try await client.patchStatus(
            .pods, name: "p1", namespace: ns, patch: ["status": ["phase": "Running", "podIP": "10.1.2.3"]] as KubeJSON,
            as: KubeObject.self)
        #expect(withStatus.status?["phase"] == "Running")

        // The main endpoint ignores status; the status endpoint ignores spec.
        var sneaky = withStatus
        sneaky[path: "status", "phase"] = "Failed"
        sneaky.annotations["touched"] = "yes"
        let updated = try await client.update(.pods, sneaky)
        #expect(updated.status?["phase"] == "Running")
        #expect(updated.annotations["touched"] == "yes")

        // Stale resourceVersion: conflict on both endpoints.
        do {
            _ = try await client.update(.pods, withStatus)
            Issue.record("stale update must conflict")
        } catch KubernetesError.conflict {
        }
        do {
            _ = try await client.updateStatus(.pods, withStatus)
            Issue.record("stale status update must conflict")
        } catch KubernetesError.conflict {
        }
        var fresh = updated
        fresh[path: "status", "phase"] = "Succeeded"
        let statusUpdated = try await client.updateStatus(.pods, fresh)
        #expect(statusUpdated.status?["phase"] == "Succeeded")

        do {
            try await client.delete(
                .pods, name: "p1", namespace: ns, options: DeleteOptions(preconditions: .init(uid: "not-the-uid")))
            Issue.record("precondition must fail")
        } catch KubernetesError.conflict {
        }
        try await client.delete(
            .pods, name: "p1", namespace: ns,
            options: DeleteOptions(propagationPolicy: .background, preconditions: .init(uid: created.uid)))
        do {
            _ = try await client.get(.pods, name: "p1", namespace: ns, as: KubeObject.self)
            Issue.record("deleted pod must be gone")
        } catch KubernetesError.notFound {
        }

        var types: [WatchEventType] = []
        _ = try await firstEvent(in: stream) { event in
            types.append(event.type)
            return event.type == .deleted
        }
        #expect(types.filter { $0 != .bookmark } == [.modified, .modified, .modified, .modified, .deleted])

        // Compacted history: watching from the old version is 410 Gone.
        _ = try await client.fakeControl(.POST, "history/expire")
        do {
            let expired = try await client.watch(
                .pods, namespace: ns, options: WatchOptions(resourceVersion: listVersion, timeoutSeconds: 5), as: KubeObject.self)
            _ = try await firstEvent(in: expired) { _ in false }
            Issue.record("expected 410")
        } catch KubernetesError.gone {
        }
        try await client.delete(.namespaces, name: ns)
    }
}

/// The first event satisfying `predicate` (all events are passed to it), within 15 s.
func firstEvent<Object: KubernetesObject>(
    in stream: WatchStream<Object>, where predicate: (WatchEvent<Object>) -> Bool
) async throws -> WatchEvent<Object> {
    let deadline = ContinuousClock.now + .seconds(15)
    for try await event in stream {
        if predicate(event) { return event }
        if ContinuousClock.now > deadline { break }
    }
    throw TimedOut(what: "a matching watch event")
}
