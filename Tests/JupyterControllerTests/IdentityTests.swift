import Foundation
import JupyterController
import KubernetesAPI
import Testing

/// Issue 17: notebook identities (user names, hashes), the users roster the gateway reads, the gateway's side
/// of it (env, Role) and HTTPS trust in the notebook pod.
@Suite struct IdentityTests {
    func claim(_ name: String, user: String, at time: String, token: String? = "t", deleting: Bool = false) -> UserClaim {
        UserClaim(
            notebook: ObjectKey(namespace: "ns", name: name), user: user, createdAt: time,
            tokenSHA256: token.map(NotebookIdentity.tokenHash), deleting: deleting)
    }

    @Test func hashesMatchTheGatewayContract() {
        // printf 'alice' | sha256sum
        let alice = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"
        #expect(NotebookIdentity.tokenHash("alice") == alice)
        #expect(NotebookIdentity.userHash("alice") == String(alice.prefix(40)))
        #expect(NotebookIdentity.userHash("alice").count == 40)
    }

    @Test func theDefaultUserIsNamespaceAndNameAndSpecUserIsValidated() throws {
        #expect(NotebookIdentity.user(of: try Fixtures.notebook("nb")) == "default-nb")
        #expect(NotebookIdentity.user(of: try Fixtures.notebook("nb", spec: ["user": "alice"])) == "alice")
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["user": "alice.b@x-y_z"])) == nil)
        for hostile in ["-alice", "alice-", "al ice", "alice\nadmin: true", "ünïcode", String(repeating: "a", count: 64), "a\"b"] {
            let notebook = try Fixtures.notebook("nb", spec: ["user": .string(hostile)])
            #expect(NotebookIdentity.problem(with: notebook) != nil, "\(hostile.debugDescription) must be refused")
        }
    }

    @Test func nothingThatWouldSpoilTheUsersFileIsAccepted() throws {
        let long = String(repeating: "n", count: 250)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook(long)) != nil, "default-<250 characters> is too long")
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook(long, spec: ["user": "short"])) == nil)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["storage": ["existingClaim": "Bad_Claim"]])) != nil)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["storage": ["existingClaim": "data.v2"]])) == nil)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["storage": ["mountPath": "/home/../etc"]])) != nil)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["storage": ["mountPath": "relative"]])) != nil)
        #expect(NotebookIdentity.problem(with: try Fixtures.notebook("nb", spec: ["storage": ["mountPath": "/data"]])) == nil)
    }

    @Test func theRosterIsSortedStableAndQuoted() {
        let claims = [
            claim("b", user: "bob", at: "2026-12-05T10:00:01Z", token: "bob-token"),
            claim("a", user: "alice", at: "2026-12-05T10:00:00Z", token: "alice-token"),
        ]
        let roster = UsersRoster(claims: claims)
        #expect(roster.entries.map(\.user) == ["alice", "bob"])
        #expect(UsersRoster(claims: claims.reversed()) == roster, "the same claims in any order")
        #expect(roster.yaml == """
            users:
              - name: "alice"
                tokenSHA256: "\(NotebookIdentity.tokenHash("alice-token"))"
                namespace: "ns"
              - name: "bob"
                tokenSHA256: "\(NotebookIdentity.tokenHash("bob-token"))"
                namespace: "ns"

            """)
        #expect(UsersRoster(claims: []).yaml == "users: []\n")
    }

    @Test func workspacesAreWrittenFromTheNotebooksStorage() throws {
        var entry = claim("a", user: "alice", at: "2026-12-05T10:00:00Z")
        let notebook = try Fixtures.notebook("a", spec: ["gateway": ["name": "g"], "storage": ["existingClaim": "data", "mountPath": "/data"]])
        let renderer = NotebookRenderer(NotebookRenderInput(notebook: notebook, gateway: nil, notebookToken: nil))
        entry.workspace = renderer.workspace
        let pod = ["app.kubernetes.io/component": "notebook", "elastic-jupyter.io/notebook": "a"]
        #expect(entry.workspace == UserWorkspace(claim: "data", mountPath: "/data", namespace: "default", notebookPodLabels: pod))
        #expect(UsersRoster(claims: [entry]).yaml.hasSuffix("""
                workspace:
                  claim: "data"
                  mountPath: "/data"
                  namespace: "default"
                  notebookPodLabels:
                    "app.kubernetes.io/component": "notebook"
                    "elastic-jupyter.io/notebook": "a"

            """))
        let shared = try Fixtures.notebook("a", spec: ["storage": ["existingClaim": "data", "accessModes": ["ReadWriteMany"]]])
        let sharedWorkspace = NotebookRenderer(NotebookRenderInput(notebook: shared, gateway: nil, notebookToken: nil)).workspace
        #expect(sharedWorkspace?.claim == "data" && sharedWorkspace?.notebookPodLabels == nil)
        entry.workspace = sharedWorkspace
        #expect(!UsersRoster(claims: [entry]).yaml.contains("notebookPodLabels"))
        for modes in [["ReadWriteOnce"], ["ReadWriteOncePod"]] {
            let own = try Fixtures.notebook("a", spec: ["storage": ["accessModes": KubeJSON(modes)]])
            #expect(NotebookRenderer(NotebookRenderInput(notebook: own, gateway: nil, notebookToken: nil)).workspace?.notebookPodLabels == pod)
        }
        let generated = try Fixtures.notebook("a", spec: [:])
        #expect(NotebookRenderer(NotebookRenderInput(notebook: generated, gateway: nil, notebookToken: nil)).workspace?.notebookPodLabels == pod)
        let off = try Fixtures.notebook("a", spec: ["storage": ["enabled": false]])
        #expect(NotebookRenderer(NotebookRenderInput(notebook: off, gateway: nil, notebookToken: nil)).workspace == nil)
    }

    @Test func aDeletedNotebooksEntryIsGoneButItsNameStaysReservedWhileDeleting() {
        let alice = claim("a", user: "alice", at: "2026-12-05T10:00:00Z")
        let bob = claim("b", user: "bob", at: "2026-12-05T10:00:01Z")
        #expect(UsersRoster(claims: [alice]).entries.map(\.user) == ["alice"])
        #expect(UsersRoster(claims: [alice, bob]).entries.map(\.user) == ["alice", "bob"])
        #expect(UsersRoster(claims: [alice]).entries.map(\.user) == ["alice"], "bob deleted: his entry is gone")

        var deleting = bob
        deleting.deleting = true
        let late = claim("c", user: "bob", at: "2026-12-05T10:00:02Z")
        let roster = UsersRoster(claims: [alice, deleting, late])
        #expect(roster.entries.map(\.user) == ["alice"], "no entry for a deleting notebook")
        #expect(roster.holders["bob"] == deleting.notebook, "its name stays reserved while its kernels go")
        #expect(roster.conflicts[late.notebook] == deleting.notebook)
        #expect(UsersRoster(claims: [alice, late]).entries.map(\.notebook.name) == ["a", "c"], "then the name is free")
    }

    @Test func aSecondNotebookWithTheSameUserIsAConflict() {
        let first = claim("first", user: "alice", at: "2026-12-05T10:00:00Z", token: "1")
        let second = claim("second", user: "alice", at: "2026-12-05T10:00:05Z", token: "2")
        let roster = UsersRoster(claims: [second, first])
        #expect(roster.entries.map(\.notebook.name) == ["first"])
        #expect(roster.conflicts == [second.notebook: first.notebook])
        #expect(!roster.yaml.contains(NotebookIdentity.tokenHash("2")))
        let noToken = claim("x", user: "carol", at: "2026-12-05T10:00:00Z", token: nil)
        #expect(UsersRoster(claims: [noToken]).entries.isEmpty, "no token yet: no entry")
    }

    @Test func theGatewayReadsItsUsersSecretAndMayOnlyReadThatOne() throws {
        let rendering = GatewayRenderer(GatewayRenderInput(gateway: try Fixtures.gateway("gw"), authToken: "t")).render()
        let deployment = try #require(rendering.children.child("Deployment", "gw"))
        #expect(deployment.containerEnv["EJ_USERS_SECRET"]?["value"] == "gw-users")
        let role = try #require(rendering.children.child("Role", "gw"))
        let rule = (role["rules"]?.arrayValue ?? []).first { $0["resourceNames"] != nil }
        #expect(rule == ["apiGroups": [""], "resources": ["secrets"], "resourceNames": ["gw-users"], "verbs": ["get", "list", "watch"]])
    }

    @Test func anHTTPSGatewaysCAIsCopiedMountedAndNamed() throws {
        var connection = Fixtures.connection
        connection.caCertificate = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
        let rendering = NotebookRenderer(NotebookRenderInput(
            notebook: try Fixtures.notebook(), gateway: connection, notebookToken: "lab", gatewayToken: "own")).render()
        let configMap = try #require(rendering.children.child("ConfigMap", "jupyternotebook-sample-gateway-ca"))
        #expect(configMap["data"] == ["ca.crt": .string(connection.caCertificate!)])
        #expect(!rendering.absent.contains { $0.resource.kind == "ConfigMap" })
        let deployment = try #require(rendering.children.child("Deployment", "jupyternotebook-sample"))
        #expect(deployment.containerEnv["JUPYTER_GATEWAY_CA_CERTS"]?["value"] == "/etc/elastic-jupyter/gateway-ca/ca.crt")
        let podSpec = try #require(deployment[path: "spec", "template", "spec"])
        let volume = (podSpec["volumes"]?.arrayValue ?? []).first { $0["name"] == "gateway-ca" }
        #expect(volume?[path: "configMap", "name"] == "jupyternotebook-sample-gateway-ca")
        let mount = (podSpec["containers"]?[0]?["volumeMounts"]?.arrayValue ?? []).first { $0["name"] == "gateway-ca" }
        #expect(mount?["mountPath"] == "/etc/elastic-jupyter/gateway-ca")
    }

    @Test func aNewGatewayTokenRollsTheNotebookPod() throws {
        func hash(_ token: String) throws -> KubeJSON? {
            let rendering = NotebookRenderer(NotebookRenderInput(
                notebook: try Fixtures.notebook(), gateway: Fixtures.connection, notebookToken: "lab", gatewayToken: token)).render()
            let deployment = rendering.children.child("Deployment", "jupyternotebook-sample")
            return deployment?[path: "spec", "template", "metadata", "annotations", ControllerLabels.configHashAnnotation]
        }
        #expect(try hash("one") != hash("two"))
        #expect(try hash("one") == hash("one"))
    }

    @Test func aConflictIsAConditionOnTheNewerNotebook() throws {
        let check = GatewayCheck(usable: false, ready: false, reason: "UserConflict", message: "user alice is already used")
        let status = NotebookStatusBuilder(
            notebook: try Fixtures.notebook(), rendering: nil, gateway: check, gatewayURL: nil, workload: WorkloadState(deployment: nil),
            kernels: 0, error: nil
        ).build(previous: nil)
        #expect(status["phase"] == "Pending")
        let condition = Condition.list(from: status)[type: "UserConflict"]
        #expect(condition?.isTrue == true && condition?.message == "user alice is already used")
    }

    @Test func aGatewayOfAnotherNamespaceGetsAccessToTheNotebooksNamespaceOnly() throws {
        var elsewhere = Fixtures.connection
        elsewhere.namespace = "team-b"
        elsewhere.name = "gw"
        let notebook = try Fixtures.notebook("nb", spec: ["gateway": ["name": "gw", "namespace": "team-b"]])
        let rendering = NotebookRenderer(NotebookRenderInput(notebook: notebook, gateway: elsewhere, notebookToken: nil, gatewayToken: "t")).render()
        let binding = try #require(rendering.children.child("RoleBinding", "nb-gateway-kernels"))
        #expect(binding.namespace == "default")
        #expect(binding["subjects"] == [["kind": "ServiceAccount", "name": "gw", "namespace": "team-b"]])
        let role = try #require(rendering.children.child("Role", "nb-gateway-kernels"))
        let resources = (role["rules"]?.arrayValue ?? []).compactMap { $0["resources"]?[0]?.stringValue }
        #expect(resources == ["pods", "secrets", "events"], "kernel pods only: no leases, no users Secret")
        #expect(role.ownerReferences.first?.uid == "uid-nb")
        let account = try #require(rendering.children.child("ServiceAccount", "gw-kernel"), "kernel pods there need their account")
        #expect(account["automountServiceAccountToken"] == false)
        #expect(account.ownerReferences.isEmpty, "shared by the namespace's notebooks of the gateway")
        let policy = try #require(rendering.children.child("NetworkPolicy", "nb-gateway-kernels"))
        #expect(policy[path: "spec", "podSelector", "matchLabels", "elastic-jupyter.io/user-hash"]
            == .string(NotebookIdentity.userHash(NotebookIdentity.user(of: notebook))))
        let from = policy[path: "spec", "ingress"]?[0]?["from"]?[0]
        #expect(from?[path: "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"] == "team-b")
        #expect(from?[path: "podSelector", "matchLabels", "app.kubernetes.io/component"] == "gateway")

        let sameNamespace = NotebookRenderer(NotebookRenderInput(
            notebook: try Fixtures.notebook(), gateway: Fixtures.connection, notebookToken: nil, gatewayToken: "t")).render()
        #expect(sameNamespace.children.child("Role", "jupyternotebook-sample-gateway-kernels") == nil)
        #expect(sameNamespace.absent.contains(AbsentChild(.roles, namespace: "default", name: "jupyternotebook-sample-gateway-kernels")))
    }

    @Test func aKernelPodWakesTheNotebookOfItsUserAndLeavingAGatewayWakesIt() {
        var pod = KubeObject(.pods, name: "k", namespace: "team")
        pod.labels = [
            "elastic-jupyter.io/gateway": "gw", "app.kubernetes.io/component": "kernel",
            "elastic-jupyter.io/user-hash": NotebookIdentity.userHash("team-a"),
        ]
        let a = Fixtures.object("JupyterNotebook", name: "a", namespace: "team", spec: ["gateway": ["name": "gw"]])
        let b = Fixtures.object("JupyterNotebook", name: "b", namespace: "team", spec: ["gateway": ["name": "gw"], "user": "bob"])
        #expect(EventRouting.owners(ofKernelPod: pod, notebooks: [a, b]).notebooks == [ObjectKey(namespace: "team", name: "a")])

        let moved = Fixtures.object("JupyterNotebook", name: "b", namespace: "team", spec: ["gateway": ["name": "other", "namespace": "x"]])
        let gw = ObjectKey(namespace: "team", name: "gw")
        #expect(EventRouting.gatewaysLeft(by: .updated(old: b, new: moved)) == [gw])
        #expect(EventRouting.gatewaysLeft(by: .updated(old: b, new: b)).isEmpty)
        #expect(EventRouting.gatewaysLeft(by: .deleted(b)) == [gw])
        #expect(EventRouting.gatewaysLeft(by: .added(b)).isEmpty)
    }

    @Test func kernelPodsOfOneUserAreSelectedByGatewayAndUserHash() {
        #expect(ControllerLabels.kernelPodSelector(gateway: "gw", userHash: NotebookIdentity.userHash("alice"))
            == "app.kubernetes.io/component=kernel,elastic-jupyter.io/gateway=gw,elastic-jupyter.io/user-hash=2bd806c97f0e00af1a1fc3328fa763a9269723c8")
    }
}
