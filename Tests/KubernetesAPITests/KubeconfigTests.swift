import Foundation
import Testing

@testable import KubernetesAPI

@Suite("kubeconfig")
struct KubeconfigTests {
    private static let caPEM = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
    private static let certPEM = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
    private static let keyPEM = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"

    private func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test func dataFieldsCurrentContextAndNamespace() throws {
        let yaml = """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: dev-cluster
              cluster: {server: "http://127.0.0.1:1"}
            - name: prod-cluster
              cluster:
                server: https://10.0.0.1:6443/
                certificate-authority-data: \(b64(Self.caPEM))
            contexts:
            - name: dev
              context: {cluster: dev-cluster, user: dev-user}
            - name: prod
              context: {cluster: prod-cluster, user: admin, namespace: jupyter}
            users:
            - name: dev-user
              user: {token: dev-token}
            - name: admin
              user:
                client-certificate-data: \(b64(Self.certPEM))
                client-key-data: \(b64(Self.keyPEM))
            """
        let config = try KubernetesConfiguration.kubeconfig(yaml: yaml)
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.namespace == "jupyter")
        #expect(config.credentials == .none)
        #expect(config.tls.certificateAuthorityPEM == Array(Self.caPEM.utf8))
        #expect(config.tls.clientCertificatePEM == Array(Self.certPEM.utf8))
        #expect(config.tls.clientKeyPEM == Array(Self.keyPEM.utf8))
        #expect(config.tls.insecureSkipVerify == false)

        let dev = try KubernetesConfiguration.kubeconfig(yaml: yaml, context: "dev")
        #expect(dev.server == "http://127.0.0.1:1")
        #expect(dev.namespace == "default")
        #expect(dev.credentials == .bearerToken("dev-token"))
    }

    @Test func filePathsRelativeToTheKubeconfig() async throws {
        try await withTemporaryDirectory { dir in
            let certs = dir.appendingPathComponent("certs")
            try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
            try Self.caPEM.write(to: certs.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
            try Self.certPEM.write(to: dir.appendingPathComponent("client.crt"), atomically: true, encoding: .utf8)
            try Self.keyPEM.write(to: dir.appendingPathComponent("client.key"), atomically: true, encoding: .utf8)
            try "file-token\n".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
            let yaml = """
                current-context: c
                clusters:
                - name: k
                  cluster:
                    server: https://127.0.0.1:6443
                    certificate-authority: certs/ca.crt
                contexts:
                - name: c
                  context: {cluster: k, user: u}
                - name: t
                  context: {cluster: k, user: tok}
                users:
                - name: u
                  user:
                    client-certificate: client.crt
                    client-key: \(dir.path)/client.key
                - name: tok
                  user:
                    tokenFile: token
                """
            let file = dir.appendingPathComponent("config")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            let config = try KubernetesConfiguration.kubeconfig(path: file.path, environment: [:])
            #expect(config.tls.certificateAuthorityPEM == Array(Self.caPEM.utf8))
            #expect(config.tls.clientCertificatePEM == Array(Self.certPEM.utf8))
            #expect(config.tls.clientKeyPEM == Array(Self.keyPEM.utf8))

            let tokenConfig = try KubernetesConfiguration.kubeconfig(path: file.path, context: "t", environment: [:])
            guard case .tokenFile(let path, _) = tokenConfig.credentials else {
                Issue.record("expected a token file, got \(tokenConfig.credentials)")
                return
            }
            #expect(path == dir.appendingPathComponent("token").path)
        }
    }

    @Test func kubeconfigEnvironmentTakesTheFirstFileOfTheList() async throws {
        try await withTemporaryDirectory { dir in
            let yaml = """
                current-context: local
                clusters: [{name: k, cluster: {server: "http://127.0.0.1:8001", insecure-skip-tls-verify: true}}]
                contexts: [{name: local, context: {cluster: k, user: u, namespace: ns1}}]
                users: [{name: u, user: {username: alice, password: secret}}]
                """
            let first = dir.appendingPathComponent("first.yaml")
            try yaml.write(to: first, atomically: true, encoding: .utf8)
            let env = ["KUBECONFIG": "\(first.path):/nonexistent/second.yaml", "HOME": dir.path]
            let config = try KubernetesConfiguration.load(environment: env)
            #expect(config.server == "http://127.0.0.1:8001")
            #expect(config.namespace == "ns1")
            #expect(config.tls.insecureSkipVerify)
            #expect(config.credentials == .basic(username: "alice", password: "secret"))
        }
    }

    @Test func homeKubeconfigIsTheDefault() async throws {
        try await withTemporaryDirectory { dir in
            let kube = dir.appendingPathComponent(".kube")
            try FileManager.default.createDirectory(at: kube, withIntermediateDirectories: true)
            try """
                current-context: x
                clusters: [{name: k, cluster: {server: "http://localhost:9"}}]
                contexts: [{name: x, context: {cluster: k}}]
                """.write(to: kube.appendingPathComponent("config"), atomically: true, encoding: .utf8)
            let config = try KubernetesConfiguration.kubeconfig(environment: ["HOME": dir.path])
            #expect(config.server == "http://localhost:9")
            #expect(throws: KubernetesConfigurationError.noKubeconfig) {
                try KubernetesConfiguration.kubeconfig(environment: ["HOME": dir.appendingPathComponent("none").path])
            }
        }
    }

    @Test func errorsAreTyped() throws {
        let base = """
            clusters: [{name: k, cluster: {server: "https://h:1"}}]
            contexts: [{name: a, context: {cluster: k, user: e}}, {name: b, context: {cluster: missing}}]
            users: [{name: e, user: {exec: {command: aws}}}]
            """
        #expect(throws: KubernetesConfigurationError.contextNotFound("nope")) {
            try KubernetesConfiguration.kubeconfig(yaml: base, context: "nope")
        }
        #expect(throws: KubernetesConfigurationError.unsupportedAuthentication("exec credential plugins")) {
            try KubernetesConfiguration.kubeconfig(yaml: base, context: "a")
        }
        #expect(throws: KubernetesConfigurationError.clusterNotFound("missing")) {
            try KubernetesConfiguration.kubeconfig(yaml: base, context: "b")
        }
        let badServer = """
            current-context: a
            clusters: [{name: k, cluster: {server: "ftp://h"}}]
            contexts: [{name: a, context: {cluster: k}}]
            """
        #expect(throws: KubernetesConfigurationError.invalidServer("ftp://h")) {
            try KubernetesConfiguration.kubeconfig(yaml: badServer)
        }
        let badData = """
            current-context: a
            clusters: [{name: k, cluster: {server: "https://h", certificate-authority-data: "%%%"}}]
            contexts: [{name: a, context: {cluster: k}}]
            """
        #expect(throws: KubernetesConfigurationError.invalidBase64(field: "certificate-authority-data")) {
            try KubernetesConfiguration.kubeconfig(yaml: badData)
        }
    }
}
