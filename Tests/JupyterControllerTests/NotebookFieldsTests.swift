import Foundation
import JupyterController
import KubernetesAPI
import Testing

/// Issue 19: a notebook's password, Ingress and idle-server check (the pure parts).
@Suite struct NotebookFieldsTests {
    func render(_ spec: KubeJSON, passwordHash: String? = nil) throws -> NotebookRendering {
        NotebookRenderer(NotebookRenderInput(
            notebook: try Fixtures.notebook("nb", spec: spec), gateway: nil, notebookToken: "lab-token",
            passwordHash: passwordHash, settings: RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "k:1"))).render()
    }

    // MARK: Password

    @Test func passwordHashIsJupyterServersSaltedFormat() {
        // hashlib.sha256(b"s3cret" + b"0123456789ab").hexdigest()
        #expect(PasswordHash.make("s3cret", salt: "0123456789ab")
            == "sha256:0123456789ab:ac091a2b0886f635318030bf9bdaf48ad6d44d9e5f2d305c3c073e23da5ab8fa")
        let fresh = PasswordHash.forPassword("s3cret", current: nil)
        let parts = fresh.split(separator: ":").map(String.init)
        #expect(parts.count == 3 && parts[0] == "sha256" && parts[1].count == 12 && parts[2].count == 64)
        #expect(PasswordHash.verify("s3cret", against: fresh) && !PasswordHash.verify("other", against: fresh))
    }

    @Test func aStoredHashOfTheSamePasswordKeepsItsSaltAndANewPasswordGetsANewHash() {
        let stored = PasswordHash.make("s3cret", salt: "aaaaaaaaaaaa")
        #expect(PasswordHash.forPassword("s3cret", current: stored) == stored)
        let changed = PasswordHash.forPassword("n3w", current: stored)
        #expect(changed != stored && PasswordHash.verify("n3w", against: changed))
        #expect(PasswordHash.forPassword("s3cret", current: "garbage") != "garbage")
    }

    @Test func aValueThatIsAlreadyAHashIsKeptAsItIs() {
        let sha1 = "sha1:0e112c3ddfce:a68df677475c2b47b6e86d0467eec97ac5f4b85a"
        #expect(PasswordHash.forPassword(sha1, current: nil) == sha1)
        #expect(PasswordHash.isHash("argon2:$argon2id$v=19$m=10240,t=10,p=8$abc$def"))
        #expect(!PasswordHash.isHash("sha1:salt:not-hex"), "a password that merely looks like one is hashed")
        #expect(!PasswordHash.isHash("md5:00:00"))
    }

    @Test func thePasswordHashGoesIntoTheSecretAndAMountedConfigNeverTheClearText() throws {
        let hash = PasswordHash.make("s3cret", salt: "0123456789ab")
        let rendering = try render(["auth": ["password": "s3cret"], "storage": ["enabled": false]], passwordHash: hash)
        let secret = try #require(rendering.children.child("Secret", "nb-jupyter"))
        let encoded = try #require(secret.data?[NotebookRenderer.passwordConfigKey]?.stringValue)
        let config = try JSONDecoder().decode(KubeJSON.self, from: try #require(Data(base64Encoded: encoded)))
        #expect(config[path: "PasswordIdentityProvider", "hashed_password"] == .string(hash))
        #expect(config[path: "PasswordIdentityProvider", "allow_password_change"] == false)
        #expect(NotebookRenderer.storedPasswordHash(in: secret) == hash)
        let deployment = try #require(rendering.children.child("Deployment", "nb"))
        #expect(deployment.containerEnv["JUPYTER_CONFIG_PATH"]?["value"] == .string(NotebookRenderer.passwordConfigPath))
        let volumes = deployment[path: "spec", "template", "spec", "volumes"]?.arrayValue ?? []
        #expect(volumes.contains { $0[path: "secret", "secretName"] == "nb-jupyter" && $0[path: "secret", "items"]?[0]?["key"] == .string(NotebookRenderer.passwordConfigKey) })
        let text = CanonicalJSON.text(deployment.json) + CanonicalJSON.text(secret.json)
        #expect(!text.contains("s3cret"), "the clear text is nowhere")
        // a new password rolls the pod
        let other = try render(["auth": ["password": "x"], "storage": ["enabled": false]], passwordHash: PasswordHash.make("x", salt: "1"))
        let annotation: (NotebookRendering) -> KubeJSON? = {
            $0.children.child("Deployment", "nb")?[path: "spec", "template", "metadata", "annotations", "elastic-jupyter.io/config-hash"]
        }
        #expect(annotation(other) != annotation(rendering))
    }

    @Test func withAuthDisabledThePasswordIsNotConfigured() throws {
        let rendering = try render(["auth": ["mode": "disable", "password": "s3cret"], "storage": ["enabled": false]],
                                   passwordHash: PasswordHash.make("s3cret", salt: "0"))
        #expect(rendering.children.child("Secret", "nb-jupyter") == nil)
        #expect(rendering.children.child("Deployment", "nb")?.containerEnv["JUPYTER_CONFIG_PATH"] == nil)
    }

    // MARK: Ingress

    @Test func anIngressWithTLSLeadsToTheNotebookServiceAndGivesTheURL() throws {
        let rendering = try render(["storage": ["enabled": false], "ingress": [
            "host": "lab.example.com", "path": "/alice", "ingressClassName": "nginx", "tlsSecretName": "lab-tls",
            "annotations": ["nginx.ingress.kubernetes.io/proxy-body-size": "0"],
        ]])
        let ingress = try #require(rendering.children.child("Ingress", "nb"))
        #expect(ingress[path: "spec", "ingressClassName"] == "nginx")
        #expect(ingress[path: "spec", "tls"] == [["hosts": ["lab.example.com"], "secretName": "lab-tls"]])
        #expect(ingress[path: "spec", "rules"]?[0]?["host"] == "lab.example.com")
        #expect(ingress[path: "spec", "rules"]?[0]?[path: "http", "paths"]?[0] == [
            "path": "/alice", "pathType": "Prefix", "backend": ["service": ["name": "nb", "port": ["name": "http"]]],
        ])
        #expect(ingress.annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0")
        #expect(ingress.ownerReferences.first?.uid == "uid-nb")
        #expect(rendering.url == "https://lab.example.com/alice")
        let plain = try render(["storage": ["enabled": false], "ingress": ["host": "lab.example.com"]])
        #expect(plain.url == "http://lab.example.com/")
        let none = try render(["storage": ["enabled": false]])
        #expect(none.children.child("Ingress", "nb") == nil)
        #expect(none.absent.contains(AbsentChild(.ingresses, namespace: "default", name: "nb")))
    }

    // MARK: /api/status

    @Test func jupyterServersStatusIsRead() throws {
        let body = #"{"connections": 2, "kernels": 1, "last_activity": "2026-12-06T06:45:01.123456Z", "started": "2026-12-06T06:00:00.000000Z"}"#
        let activity = try ServerActivity.parse(Array(body.utf8))
        #expect(activity.connections == 2 && activity.kernels == 1)
        let expected = try #require(ISO8601DateFormatter().date(from: "2026-12-06T06:45:01Z")).addingTimeInterval(0.123456)
        #expect(abs(activity.lastActivity.timeIntervalSince(expected)) < 0.001)
        let offset = try ServerActivity.parse(Array(#"{"last_activity": "2026-12-06T06:45:01+00:00"}"#.utf8))
        #expect(offset.lastActivity == ISO8601DateFormatter().date(from: "2026-12-06T06:45:01Z"))
        #expect(offset.connections == 0 && offset.kernels == 0)
    }

    @Test(arguments: [
        "", "null", "[]", "not json at all", #"{"last_activity": 5}"#, #"{"last_activity": "yesterday"}"#,
        #"{"last_activity": "2026-12-06T06:45:01."}"#, #"{"kernels": 1}"#,
        #"{"last_activity": ""# + String(repeating: "9", count: 5000) + #""}"#,
        String(repeating: "[", count: 40_000), String(repeating: #"{"a":"#, count: 20_000),
    ])
    func hostileStatusBodiesAreMalformedNotACrash(_ body: String) {
        #expect(throws: IdleCheckError.self) { try ServerActivity.parse(Array(body.utf8)) }
        do {
            _ = try ServerActivity.parse(Array(body.utf8))
        } catch {
            #expect(error.reason == "StatusMalformed")
        }
    }

    @Test func hostileCountsReadAsZeroOrBounded() throws {
        let activity = try ServerActivity.parse(Array(#"{"last_activity": "2026-12-06T06:45:01Z", "connections": -4, "kernels": 1e300}"#.utf8))
        #expect(activity.connections == 0 && activity.kernels <= 1_000_000)
    }

    // MARK: Status

    func status(_ spec: KubeJSON, annotations: [String: String] = [:], idle: IdleCheck = .off) throws -> KubeJSON {
        var object = Fixtures.object("JupyterNotebook", name: "nb", spec: spec)
        object.annotations = annotations
        return NotebookStatusBuilder(
            notebook: try JupyterNotebook(object), rendering: nil, gateway: .none, gatewayURL: nil,
            workload: WorkloadState(deployment: nil), kernels: 3, error: nil, idle: idle
        ).build(previous: nil)
    }

    func condition(_ status: KubeJSON, _ type: String) -> KubeJSON? {
        status["conditions"]?.arrayValue?.first { $0["type"] == .string(type) }
    }

    @Test func aCulledNotebookSaysSoAndHowToStartIt() throws {
        let culled = try status(["stopped": true], annotations: [
            NotebookReconciler.culledAtAnnotation: "2026-12-06T06:45:01Z", NotebookReconciler.culledIdleAnnotation: "3605"])
        #expect(culled["stopped"] == true && culled["culledAt"] == "2026-12-06T06:45:01Z" && culled["kernels"] == 3)
        let found = try #require(condition(culled, "Culled"))
        #expect(found["status"] == "True" && found["message"]?.stringValue?.contains("3605 s") == true)
        #expect(found["message"]?.stringValue?.contains("spec.stopped: false") == true)
        // started again: no longer culled, even while the annotation is still there
        let running = try status(["stopped": false], annotations: [NotebookReconciler.culledAtAnnotation: "2026-12-06T06:45:01Z"])
        #expect(running["stopped"] == false && running["culledAt"] == nil && condition(running, "Culled") == nil)
    }

    @Test func aHostileCullAnnotationNeverBreaksTheStatusSchema() throws {
        let edited = try status(["stopped": true], annotations: [
            NotebookReconciler.culledAtAnnotation: String(repeating: "x", count: 100_000), NotebookReconciler.culledIdleAnnotation: "-1e99"])
        #expect(edited["culledAt"] == nil, "not a date-time: left out")
        let found = try #require(condition(edited, "Culled"))
        #expect((found["message"]?.stringValue?.count ?? 0) < 300)
    }

    @Test func aFailedIdleCheckIsAConditionAndTheActivityIsShown() throws {
        let failed = try status(["cullIdleServerAfter": 60], idle: .failed(.tooLarge(limit: 65536)))
        let found = try #require(condition(failed, "IdleCheckFailed"))
        #expect(found["reason"] == "StatusTooLarge" && found["status"] == "True")
        let time = try #require(ISO8601DateFormatter().date(from: "2026-12-06T06:45:01Z"))
        let active = try status(["cullIdleServerAfter": 60], idle: .active(ServerActivity(lastActivity: time, connections: 1, kernels: 1)))
        #expect(active["lastActivity"] == "2026-12-06T06:45:01Z" && condition(active, "IdleCheckFailed") == nil)
    }
}
