import Foundation
import Hummingbird
import HummingbirdTesting
import KernelGateway
import Logging
import Testing
import ZeroMQ
@testable import KernelGatewayHTTP

/// The HTTP edge end to end, in process: the real router, middleware and routes over a real ``KernelManager``
/// with local kernels (the repository's echo-kernel where a kernel must actually start).
@Suite struct RouterTests {
    static let adminToken = "admin-token"
    static let aliceToken = "alice-token"
    static let bobToken = "bob-token"

    /// The echo-kernel binary `swift build` puts next to the test bundle, if it was built.
    static let echoKernel: String? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".build/debug/echo-kernel").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    /// A gateway with two kernelspecs (`echo`, with a logo, and `other`), an admin token and two users: alice may
    /// start `echo` only, bob nothing. `body` runs against the router; the manager runs meanwhile.
    static func withGateway(
        listKernels: Bool = true, maxBodySize: Int = 1 << 20,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ej-router-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let specs = root.appendingPathComponent("kernels")
        for name in ["echo", "other"] {
            let directory = specs.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let kernel: [String: Any] = [
                "argv": [echoKernel ?? "/nonexistent/echo-kernel", "-f", "{connection_file}"],
                "display_name": name.capitalized, "language": "echo", "interrupt_mode": "message",
            ]
            try JSONSerialization.data(withJSONObject: kernel).write(to: directory.appendingPathComponent("kernel.json"))
        }
        try Data([0x89, 0x50, 0x4e, 0x47]).write(to: specs.appendingPathComponent("echo/logo-64x64.png"))
        let runtime = root.appendingPathComponent("runtime").path

        let logger = Logger(label: "router-tests")
        let catalog = KernelSpecCatalog(
            configuration: KernelSpecCatalogConfiguration(searchDirectories: [specs.path], defaultKernelName: "echo"), logger: logger)
        let provisioner = try LocalProcessProvisioner(runtimeDirectory: runtime, logger: logger)
        let reactor = ZMQReactor(name: "router-tests")
        defer { reactor.shutdown() }
        let manager = KernelManager(
            catalog: catalog, provisioner: ProvisionerRouter([.local: provisioner]),
            configuration: KernelManagerConfiguration(rootDirectory: root.path, launchTimeout: .seconds(20)),
            reactor: reactor, logger: logger)
        let users = UserRegistry(adminToken: adminToken, users: UserDirectory(usersByTokenHash: [
            UserDirectory.tokenHash(aliceToken): UserIdentity(name: "alice", isAdmin: false, kernelspecs: ["echo"]),
            UserDirectory.tokenHash(bobToken): UserIdentity(name: "bob", isAdmin: false, kernelspecs: []),
        ]))
        let settings = HTTPServerConfiguration(authToken: adminToken, listKernels: listKernels, maxBodySize: maxBodySize)
        let app = try GatewayServer.makeApplication(
            settings: settings, manager: manager, users: users, metrics: MetricsExposition(), logger: logger)

        let running = Task { try await manager.run() }
        defer { running.cancel() }
        while await !manager.isReady { try await Task.sleep(for: .milliseconds(10)) }
        try await app.test(.router) { client in try await body(client) }
        await manager.shutdownAll()
        running.cancel()
        _ = await running.result
    }

    static func auth(_ token: String) -> HTTPFields { [.authorization: "token \(token)"] }
    static let admin = auth(adminToken)

    /// The JSON error body every refusal carries: `{"reason", "message"}`.
    static func errorBody(_ response: TestResponse) throws -> (reason: String, message: String) {
        #expect(response.headers[.contentType] == "application/json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String])
        return (try #require(object["reason"]), try #require(object["message"]))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    // MARK: Authentication

    @Test func requestsWithoutAValidTokenGet401() async throws {
        try await Self.withGateway { client in
            for headers: HTTPFields in [[:], Self.auth("wrong"), [.authorization: "Basic YWRtaW46YWRtaW4="]] {
                try await client.execute(uri: "/api/kernels", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    let error = try Self.errorBody(response)
                    #expect(error.reason == "Unauthorized" && error.message.contains("token"))
                }
            }
            // Every accepted spelling of a valid token.
            for headers: HTTPFields in [Self.admin, [.authorization: "Bearer \(Self.adminToken)"]] {
                try await client.execute(uri: "/api/kernels", method: .get, headers: headers) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/api/kernels?token=\(Self.adminToken)", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func probesNeedNoToken() async throws {
        try await Self.withGateway { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let object = try Self.json(response)
                #expect(object["status"] as? String == "ready")
            }
        }
    }

    @Test func disabledListingIs403() async throws {
        try await Self.withGateway(listKernels: false) { client in
            for uri in ["/api/kernels", "/api/sessions"] {
                try await client.execute(uri: uri, method: .get, headers: Self.admin) { response in
                    #expect(response.status == .forbidden)
                    let error = try Self.errorBody(response)
                    #expect(error.message.contains("disabled"))
                }
            }
        }
    }

    @Test func aForeignOriginIs403() async throws {
        try await Self.withGateway { client in
            var headers = Self.admin
            headers[.origin] = "https://evil.example"
            try await client.execute(uri: "/api/kernels", method: .get, headers: headers) { response in
                #expect(response.status == .forbidden)
                let error = try Self.errorBody(response)
                #expect(error.message.contains("origin"))
            }
        }
    }

    // MARK: Malformed requests

    @Test func unknownRoutesAre404WithAJSONBody() async throws {
        try await Self.withGateway { client in
            try await client.execute(uri: "/api/nothing-here", method: .get, headers: Self.admin) { response in
                #expect(response.status == .notFound)
                let error = try Self.errorBody(response)
                #expect(error.reason == "Not Found" && !error.message.isEmpty)
            }
        }
    }

    @Test func anOversizedBodyIs413() async throws {
        try await Self.withGateway(maxBodySize: 64) { client in
            let body = ByteBuffer(string: #"{"name": "echo", "env": {"PAD": "\#(String(repeating: "x", count: 200))"}}"#)
            try await client.execute(uri: "/api/kernels", method: .post, headers: Self.admin, body: body) { response in
                #expect(response.status == .contentTooLarge)
                let error = try Self.errorBody(response)
                #expect(error.message.contains("64 bytes"))
            }
        }
    }

    @Test func aBrowsersFormBodyIs415() async throws {
        try await Self.withGateway { client in
            var headers = Self.admin
            headers[.origin] = "http://localhost"
            headers[.contentType] = "text/plain"
            try await client.execute(uri: "/api/kernels", method: .post, headers: headers, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .unsupportedMediaType)
                let error = try Self.errorBody(response)
                #expect(error.message.contains("application/json"))
            }
        }
    }

    @Test(arguments: [
        (#"{"name": "echo",}"#, "Invalid JSON"), ("[1, 2]", "must be a JSON object"), (#"{"name": 5}"#, "Field 'name' must be a string"),
        (#"{"env": {"A": 1}}"#, "'A' value must be a string"), (#"{"env": []}"#, "Field 'env' must be a JSON object"),
    ])
    func badJSONIs400(body: String, message: String) async throws {
        try await Self.withGateway { client in
            try await client.execute(uri: "/api/kernels", method: .post, headers: Self.admin, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let error = try Self.errorBody(response)
                #expect(error.message.contains(message), "\(body): \(error.message)")
            }
        }
    }

    @Test func sessionsNeedAPathAndAType() async throws {
        try await Self.withGateway { client in
            for (body, missing) in [(#"{"type": "notebook"}"#, "path"), (#"{"path": "a.ipynb"}"#, "type")] {
                try await client.execute(uri: "/api/sessions", method: .post, headers: Self.admin, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    let error = try Self.errorBody(response)
                    #expect(error.message == "Missing field in JSON data: \(missing)")
                }
            }
            try await client.execute(uri: "/api/sessions/none", method: .get, headers: Self.admin) { response in
                #expect(response.status == .notFound)
                let error = try Self.errorBody(response)
                #expect(error.message == "Session not found")
            }
        }
    }

    // MARK: Kernelspecs

    @Test func kernelspecsListOnlyWhatTheCallerMayStart() async throws {
        try await Self.withGateway { client in
            let expected: [(String, Set<String>)] = [(Self.adminToken, ["echo", "other"]), (Self.aliceToken, ["echo"]), (Self.bobToken, [])]
            for (token, names) in expected {
                try await client.execute(uri: "/api/kernelspecs", method: .get, headers: Self.auth(token)) { response in
                    #expect(response.status == .ok)
                    let object = try Self.json(response)
                    #expect(object["default"] as? String == "echo")
                    let specs = try #require(object["kernelspecs"] as? [String: Any])
                    #expect(Set(specs.keys) == names, "\(token)")
                }
            }
            try await client.execute(uri: "/api/kernelspecs/echo", method: .get, headers: Self.admin) { response in
                #expect(response.status == .ok)
                let object = try Self.json(response)
                #expect(object["name"] as? String == "echo")
                let resources = try #require(object["resources"] as? [String: String])
                #expect(resources["logo-64x64"] == "/kernelspecs/echo/logo-64x64.png")
            }
            try await client.execute(uri: "/api/kernelspecs/other", method: .get, headers: Self.auth(Self.aliceToken)) { response in
                #expect(response.status == .notFound)
                let error = try Self.errorBody(response)
                #expect(error.message == "Kernel spec 'other' not found")
            }
        }
    }

    @Test func kernelspecResourcesAreServedAndNothingOutsideThem() async throws {
        try await Self.withGateway { client in
            try await client.execute(uri: "/kernelspecs/echo/logo-64x64.png", method: .get, headers: Self.admin) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "image/png")
                #expect(Array(response.body.readableBytesView) == [0x89, 0x50, 0x4e, 0x47])
            }
            for uri in ["/kernelspecs/echo/kernel-missing.js", "/kernelspecs/echo/../other/kernel.json", "/kernelspecs/nope/logo-64x64.png"] {
                try await client.execute(uri: uri, method: .get, headers: Self.admin) { response in
                    #expect(response.status == .notFound, "\(uri)")
                }
            }
        }
    }

    // MARK: Kernels

    @Test func kernelErrorsMapToTheirStatuses() async throws {
        try await Self.withGateway { client in
            for (method, uri) in [(HTTPRequest.Method.get, "/api/kernels/unknown"), (.delete, "/api/kernels/unknown"),
                                  (.post, "/api/kernels/unknown/interrupt"), (.post, "/api/kernels/unknown/restart")] {
                try await client.execute(uri: uri, method: method, headers: Self.admin) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    let error = try Self.errorBody(response)
                    #expect(error.message == "Kernel does not exist: unknown")
                }
            }
            try await client.execute(uri: "/api/kernels", method: .post, headers: Self.admin, body: ByteBuffer(string: #"{"name": "nope"}"#)) { response in
                #expect(response.status == .notFound)
                let error = try Self.errorBody(response)
                #expect(error.message == "Kernel spec 'nope' not found")
            }
            // bob may start no kernelspec: the start is refused before anything runs.
            try await client.execute(uri: "/api/kernels", method: .post, headers: Self.auth(Self.bobToken),
                                     body: ByteBuffer(string: #"{"name": "echo"}"#)) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test(.enabled(if: echoKernel != nil, "needs the echo-kernel product (swift build)"))
    func aKernelStartsIsSeenByItsOwnerOnlyAndIsDeleted() async throws {
        try await Self.withGateway { client in
            let id = try await client.execute(uri: "/api/kernels", method: .post, headers: Self.auth(Self.aliceToken),
                                              body: ByteBuffer(string: #"{"name": "echo"}"#)) { response -> String in
                #expect(response.status == .created)
                let id = try #require(try Self.json(response)["id"] as? String)
                #expect(response.headers[.location] == "/api/kernels/\(id)")
                return id
            }
            try await client.execute(uri: "/api/kernels/\(id)", method: .get, headers: Self.auth(Self.aliceToken)) { response in
                #expect(response.status == .ok)
                let object = try Self.json(response)
                #expect(object["name"] as? String == "echo")
            }
            try await client.execute(uri: "/api/kernels/\(id)", method: .get, headers: Self.auth(Self.bobToken)) { response in
                #expect(response.status == .notFound, "another user's kernel must not be visible")
            }
            try await client.execute(uri: "/api/kernels", method: .get, headers: Self.admin) { response in
                let list = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]])
                #expect(list.compactMap { $0["id"] as? String } == [id])
            }
            try await client.execute(uri: "/api/kernels/\(id)", method: .delete, headers: Self.auth(Self.aliceToken)) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/kernels/\(id)", method: .get, headers: Self.admin) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
