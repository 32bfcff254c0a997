import Foundation
import Testing

@testable import KubernetesAPI

@Suite("in-cluster configuration")
struct InClusterTests {
    @Test func readsEnvironmentAndServiceAccountFiles() async throws {
        try await withTemporaryDirectory { dir in
            try "token-1".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            try "CA".write(to: dir.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
            try "jupyter\n".write(to: dir.appendingPathComponent("namespace"), atomically: true, encoding: .utf8)
            let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
            let config = try KubernetesConfiguration.inCluster(environment: env, serviceAccountDirectory: dir.path)
            #expect(config.server == "https://10.96.0.1:443")
            #expect(config.namespace == "jupyter")
            #expect(config.tls.certificateAuthorityPEM == Array("CA".utf8))
            #expect(config.credentials == .tokenFile(path: dir.appendingPathComponent("token").path, refreshInterval: .seconds(60)))

            let v6 = try KubernetesConfiguration.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"],
                serviceAccountDirectory: dir.path)
            #expect(v6.server == "https://[fd00::1]:6443")
        }
    }

    @Test func notInClusterWithoutEnvironment() {
        #expect(throws: KubernetesConfigurationError.notInCluster) {
            try KubernetesConfiguration.inCluster(environment: [:])
        }
    }

    @Test func rotatedTokenIsReReadAfterTheIntervalOrOnDemand() async throws {
        try await withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("token")
            try "old".write(to: file, atomically: true, encoding: .utf8)
            let provider = AuthorizationProvider(credentials: .tokenFile(path: file.path, refreshInterval: .seconds(1)))
            let start = ContinuousClock.now
            #expect(try provider.authorization(now: start) == "Bearer old")
            try "new".write(to: file, atomically: true, encoding: .utf8)
            #expect(try provider.authorization(now: start + .milliseconds(500)) == "Bearer old")
            #expect(try provider.authorization(now: start + .seconds(2)) == "Bearer new")
            try "newer".write(to: file, atomically: true, encoding: .utf8)
            provider.invalidate()
            #expect(try provider.authorization(now: start + .seconds(2)) == "Bearer newer")
        }
    }

    @Test func rotatedTokenIsReReadOn401() async throws {
        try await withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("token")
            try "old".write(to: file, atomically: true, encoding: .utf8)
            let accepted = "Bearer new"
            try await FakeHTTPServer.with({ request in
                request.headers["authorization"] == accepted
                    ? .json(200, podJSON("p", rv: "1")) : .status(401, reason: "Unauthorized")
            }) { server in
                try await withTestClient(server.url, credentials: .tokenFile(path: file.path, refreshInterval: .seconds(3600))) { client in
                    // The cached token is "old"; the server only accepts "new" once the file rotates.
                    do {
                        _ = try await client.get(.pods, name: "p", as: KubeObject.self)
                        Issue.record("expected 401")
                    } catch KubernetesError.unauthorized {
                    }
                    try "new".write(to: file, atomically: true, encoding: .utf8)
                    let pod = try await client.get(.pods, name: "p", as: KubeObject.self)
                    #expect(pod.name == "p")
                    // old → 401, re-read (still old) → 401; then old (cached) → 401, re-read → new → 200.
                    #expect(server.requests.map { $0.headers["authorization"] ?? "" }
                        == ["Bearer old", "Bearer old", "Bearer old", "Bearer new"])
                }
            }
        }
    }
}
