import Foundation
import Synchronization
import Testing

@testable import KubernetesAPI

@Suite("client requests")
struct ClientRequestTests {
    /// Echoes the request body back as the object (with a resourceVersion), like a server would.
    private static let echo: FakeHTTPServer.Handler = { request in
        if request.method == "DELETE" {
            return .json(200, ["kind": "Status", "status": "Success"])
        }
        var object = request.json ?? podJSON("p", rv: "1")
        if object["kind"] == nil || request.method == "PATCH" { object = podJSON("p", rv: "2") }
        object[path: "metadata", "resourceVersion"] = "42"
        return .json(request.method == "POST" ? 201 : 200, object)
    }

    @Test func writesUseTheRightVerbsPathsAndBodies() async throws {
        try await FakeHTTPServer.with(Self.echo) { server in
            try await withTestClient(server.url) { client in
                var pod = KubeObject(metadata: ObjectMeta(name: "p", labels: ["app": "kernel"]))
                pod.spec = ["containers": [["name": "k", "image": "python"]]]
                let created = try await client.create(.pods, pod)
                #expect(created.resourceVersion == "42")
                #expect(created.kind == "Pod")

                var changed = created
                changed.labels["extra"] = "1"
                _ = try await client.update(.pods, changed)
                _ = try await client.updateStatus(.pods, changed)
                let patch: KubeJSON = ["metadata": ["annotations": ["a": "b", "gone": nil]]]
                _ = try await client.patch(.pods, name: "p", patch: patch, as: KubeObject.self)
                _ = try await client.patchStatus(.pods, name: "p", namespace: "other", patch: ["status": ["phase": "Running"]] as KubeJSON, as: KubeObject.self)
                try await client.delete(
                    .pods, name: "p",
                    options: DeleteOptions(
                        propagationPolicy: .foreground, preconditions: .init(uid: "u1", resourceVersion: "42")))
                try await client.delete(.clusterRoles, name: "r", namespace: "ignored")

                let requests = server.requests
                #expect(requests.map { "\($0.method) \($0.path)" } == [
                    "POST /api/v1/namespaces/test/pods",
                    "PUT /api/v1/namespaces/test/pods/p",
                    "PUT /api/v1/namespaces/test/pods/p/status",
                    "PATCH /api/v1/namespaces/test/pods/p",
                    "PATCH /api/v1/namespaces/other/pods/p/status",
                    "DELETE /api/v1/namespaces/test/pods/p",
                    "DELETE /apis/rbac.authorization.k8s.io/v1/clusterroles/r",
                ])
                let post = requests[0].json
                #expect(post?["apiVersion"] == "v1")
                #expect(post?["kind"] == "Pod")
                #expect(post?[path: "metadata", "labels", "app"] == "kernel")
                #expect(requests[0].headers["content-type"] == "application/json")
                #expect(requests[1].json?[path: "metadata", "resourceVersion"] == "42")
                #expect(requests[3].headers["content-type"] == "application/merge-patch+json")
                #expect(requests[3].json?[path: "metadata", "annotations", "gone"] == .null)
                let deleteBody = requests[5].json
                #expect(deleteBody?["kind"] == "DeleteOptions")
                #expect(deleteBody?["propagationPolicy"] == "Foreground")
                #expect(deleteBody?[path: "preconditions", "resourceVersion"] == "42")
                #expect(deleteBody?[path: "preconditions", "uid"] == "u1")
            }
        }
    }

    @Test func listQueryAndPagination() async throws {
        let handler: FakeHTTPServer.Handler = { request in
            let page = request.query["continue"] == nil
            let items: [KubeJSON] = page ? [podJSON("a", rv: "1"), podJSON("b", rv: "2")] : [podJSON("c", rv: "3")]
            var meta: KubeJSON = ["resourceVersion": page ? "100" : "101"]
            if page { meta["continue"] = "token/2" }
            // Real servers leave out kind/apiVersion on items.
            let stripped = items.map { item -> KubeJSON in
                var item = item
                item["kind"] = nil
                item["apiVersion"] = nil
                return item
            }
            return .json(200, ["kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": .array(stripped)])
        }
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                let options = ListOptions(labelSelector: "app=kernel,tier!=db", fieldSelector: "status.phase=Running", limit: 2)
                let first = try await client.list(.pods, namespace: "ns", options: options, as: KubeObject.self)
                #expect(first.items.map(\.name) == ["a", "b"])
                #expect(first.items.first?.kind == "Pod")
                #expect(first.metadata.continue == "token/2")
                let all = try await client.listAll(.pods, options: options, as: KubeObject.self)
                #expect(all.items.map(\.name) == ["a", "b", "c"])
                #expect(all.metadata.resourceVersion == "101")
                let requests = server.requests
                #expect(requests[0].path == "/api/v1/namespaces/ns/pods")
                #expect(requests[0].query["labelSelector"] == "app=kernel,tier!=db")
                #expect(requests[0].query["fieldSelector"] == "status.phase=Running")
                #expect(requests[0].query["limit"] == "2")
                #expect(requests[1].path == "/api/v1/pods")
                #expect(requests[2].query["continue"] == "token/2")
            }
        }
    }

    @Test func notFoundAndConflictAreTyped() async throws {
        let handler: FakeHTTPServer.Handler = { request in
            request.method == "GET" ? .status(404, reason: "NotFound") : .status(409, reason: "Conflict", message: "the object has been modified")
        }
        try await FakeHTTPServer.with(handler) { server in
            try await withTestClient(server.url) { client in
                await #expect(throws: KubernetesError.self) { try await client.get(.secrets, name: "s", as: KubeObject.self) }
                do {
                    _ = try await client.get(.secrets, name: "s", as: KubeObject.self)
                } catch let error as KubernetesError {
                    #expect(error.kind == .notFound)
                }
                do {
                    _ = try await client.update(.leases, KubeObject(.leases, name: "l"))
                    Issue.record("expected a conflict")
                } catch let error as KubernetesError {
                    #expect(error.kind == .conflict)
                    #expect(error.message == "the object has been modified")
                }
            }
        }
    }

    @Test func descriptorsBuildPaths() {
        #expect(ResourceDescriptor.deployments.path(namespace: "n", name: "d") == "/apis/apps/v1/namespaces/n/deployments/d")
        #expect(ResourceDescriptor.namespaces.path(namespace: "ignored", name: "n") == "/api/v1/namespaces/n")
        #expect(ResourceDescriptor.leases.apiVersion == "coordination.k8s.io/v1")
        #expect(ResourceDescriptor.customResourceDefinitions.path(namespace: nil) == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        let custom = ResourceDescriptor.custom(group: "jupyter.org", version: "v1alpha1", plural: "jupytergateways", kind: "JupyterGateway")
        #expect(custom.path(namespace: "x", name: "g", subresource: "status") == "/apis/jupyter.org/v1alpha1/namespaces/x/jupytergateways/g/status")
        #expect(custom.listKind == "JupyterGatewayList")
    }
}
