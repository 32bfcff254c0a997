import ElasticJupyterContract
import Foundation
@testable import KernelGateway
import Logging
import Testing

/// Issue 17 item 1: the users file: a good file, every refusal, and the last good file kept on a bad reload.
@Suite struct UsersFileParserTests {
    static let aliceHash = UserDirectory.tokenHash("alice-token")
    static let opsHash = UserDirectory.tokenHash("ops-token")

    static let good = """
    # who may use the gateway
    users:
      - name: alice
        tokenSHA256: "\(aliceHash)"
        kernelspecs: [python3, echo]
        maxKernels: 2
        workspace:
          claim: alice-home
          mountPath: /home/jovyan/work
          namespace: team-a
          path: notebooks/project
      - {name: ops@example.org, tokenSHA256: \(opsHash), admin: true}
    """

    static func refusal(_ text: String) -> UsersFileError? {
        do {
            _ = try UsersFileParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    /// `count` distinct labels, as the inside of a flow mapping.
    static func manyLabels(_ count: Int) -> String {
        (0..<count).map { "l\($0): v" }.joined(separator: ", ")
    }

    static func entry(_ fields: String) -> String {
        "users:\n  - {name: alice, tokenSHA256: \"\(aliceHash)\"\(fields.isEmpty ? "" : ", " + fields)}\n"
    }

    @Test func aGoodFileGivesEachTokenItsUser() throws {
        let users = try UsersFileParser.parse(Self.good)
        #expect(users.count == 2)
        let alice = try #require(users.identity(forToken: "alice-token"))
        #expect(alice.name == "alice" && !alice.isAdmin)
        #expect(alice.kernelspecs == ["python3", "echo"] && alice.maxKernels == 2)
        #expect(alice.workspace == UserWorkspace(claim: "alice-home", mountPath: "/home/jovyan/work", namespace: "team-a",
                                                 path: "notebooks/project"))
        let ops = try #require(users.identity(forToken: "ops-token"))
        #expect(ops.name == "ops@example.org" && ops.isAdmin && ops.kernelspecs == nil && ops.maxKernels == nil && ops.workspace == nil)
        #expect(users.identity(forToken: "nobody") == nil)
        #expect(users.identity(forToken: Self.aliceHash) == nil)  // a hash is not a token
        #expect(try UsersFileParser.parse("users: []\n").count == 0)
        #expect(try UsersFileParser.parse("users:\n").count == 0)
    }

    @Test func aWorkspaceMayNameTheNotebookPodsLabels() throws {
        let text = Self.entry("""
            workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app.kubernetes.io/component: notebook, \
            "elastic-jupyter.io/notebook": alice, empty: "", 0_a.b-c: "1.0"}}
            """)
        let alice = try #require(try UsersFileParser.parse(text).identity(forToken: "alice-token"))
        #expect(alice.workspace?.notebookPodLabels == [
            "app.kubernetes.io/component": "notebook", "elastic-jupyter.io/notebook": "alice", "empty": "", "0_a.b-c": "1.0",
        ])
        let most = Self.entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\(Self.manyLabels(16))}}")
        #expect(try UsersFileParser.parse(most).identity(forToken: "alice-token")?.workspace?.notebookPodLabels?.count == 16)
        let without = try UsersFileParser.parse(Self.good).identity(forToken: "alice-token")
        #expect(without?.workspace != nil && without?.workspace?.notebookPodLabels == nil)
    }

    @Test func labelSyntaxFollowsKubernetes() {
        #expect(LabelSyntax.isKey("app") && LabelSyntax.isKey("a.b/c_d") && LabelSyntax.isKey(String(repeating: "k", count: 63)))
        #expect(!LabelSyntax.isKey("") && !LabelSyntax.isKey("a/") && !LabelSyntax.isKey("_a") && !LabelSyntax.isKey("a b"))
        #expect(!LabelSyntax.isKey("A.com/b") && !LabelSyntax.isKey(String(repeating: "a", count: 254) + "/b"))
        #expect(LabelSyntax.isValue("") && LabelSyntax.isValue("A-1") && !LabelSyntax.isValue("é") && !LabelSyntax.isValue("a/b"))
    }

    @Test func aHashThatLooksLikeANumberStaysText() throws {
        let digits = String(repeating: "1", count: 60) + "e100"
        #expect(UsersEntryParser.isTokenHash(digits))
        let users = try UsersFileParser.parse("users:\n  - {name: n, tokenSHA256: \(digits)}\n")
        #expect(users.usersByTokenHash[digits]?.name == "n")
    }

    @Test(arguments: [
        ("", "no users key"), ("just text", "not a mapping"), ("users: {a: b}", "users not a list"), ("users: [\n", "not YAML"),
        ("users:\n  - just-a-name\n", "entry not a mapping"), (entry("name: bob"), "a field twice"),
        (entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: x, app: y}}"), "a label twice"),
    ])
    func malformedFilesAreRefused(_ text: String, _ why: String) {
        #expect(Self.refusal(text) != nil, "\(why)")
    }

    @Test(arguments: [
        "users:\n  - {tokenSHA256: \"\(aliceHash)\"}\n",
        "users:\n  - {name: alice}\n",
        "users:\n  - {name: \"-alice\", tokenSHA256: \"\(aliceHash)\"}\n",
        "users:\n  - {name: \"al ice\", tokenSHA256: \"\(aliceHash)\"}\n",
        "users:\n  - {name: \(String(repeating: "a", count: 254)), tokenSHA256: \"\(aliceHash)\"}\n",
        "users:\n  - {name: alice, tokenSHA256: \"\(aliceHash.uppercased())\"}\n",
        "users:\n  - {name: alice, tokenSHA256: \"\(aliceHash.dropLast())\"}\n",
        "users:\n  - {name: alice, tokenSHA256: plain-token}\n",
        entry("admin: yes"), entry("maxKernels: -1"), entry("maxKernels: two"), entry("kernelspecs: python3"),
        entry("admn: true"),
        entry("workspace: {claim: Alice_Home, mountPath: /w, namespace: a}"),
        entry("workspace: {claim: alice, mountPath: relative, namespace: a}"),
        entry("workspace: {claim: alice, mountPath: /w/../etc, namespace: a}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a.b}"),
        entry("workspace: {claim: alice, mountPath: /w}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, path: ../bob}"),
        entry("namespace: Team_A"),
        entry("namespace: [a, b]"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, path: /abs}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, size: 1}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: [a, b]}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: app}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\(manyLabels(17))}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\"-app\": x}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\"Example.com/app\": x}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\"a/b/c\": x}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\"/app\": x}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {\(String(repeating: "k", count: 64)): x}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: \"a b\"}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: \"x-\"}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: \(String(repeating: "v", count: 64))}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: [x]}}"),
        entry("workspace: {claim: alice, mountPath: /w, namespace: a, notebookPodLabels: {app: {x: y}}}"),
    ])
    func invalidEntriesAreRefused(_ text: String) {
        guard case .invalidEntry? = Self.refusal(text) else {
            Issue.record("not refused as an invalid entry: \(text.prefix(120)) → \(String(describing: Self.refusal(text)))")
            return
        }
    }

    @Test func duplicatesAreRefused() {
        let bobHash = UserDirectory.tokenHash("bob-token")
        let twoAlices = "users:\n  - {name: alice, tokenSHA256: \(Self.aliceHash)}\n  - {name: alice, tokenSHA256: \(bobHash)}\n"
        #expect(Self.refusal(twoAlices) == .duplicateName("alice"))
        let sharedHash = "users:\n  - {name: alice, tokenSHA256: \(Self.aliceHash)}\n  - {name: bob, tokenSHA256: \(Self.aliceHash)}\n"
        guard case .duplicateToken? = Self.refusal(sharedHash) else { Issue.record("shared hash accepted"); return }
    }

    @Test func hostileInputIsBoundedBeforeParsing() {
        let anchors = "base: &b {name: alice, tokenSHA256: \(Self.aliceHash)}\nusers: [*b]\n"
        guard case .unsafeYAML? = Self.refusal(anchors) else { Issue.record("anchors accepted"); return }
        guard case .unsafeYAML? = Self.refusal("users:\n  - !!python/object {name: a}\n") else { Issue.record("tag accepted"); return }
        let huge = "users: []\n#" + String(repeating: "x", count: UsersFileParser.maxBytes)
        guard case .tooLarge? = Self.refusal(huge) else { Issue.record("huge file accepted"); return }
        var many = "users:\n"
        for index in 0...UsersFileParser.maxEntries {
            many += "- {name: u\(index), tokenSHA256: \(UserDirectory.tokenHash("t\(index)"))}\n"
        }
        #expect(Self.refusal(many) == .tooManyEntries(UsersFileParser.maxEntries + 1))
        #expect(throws: UsersFileError.notUTF8) { try UsersFileParser.parse(Data([0x75, 0xff, 0xfe])) }
    }

    @Test func aBadReloadKeepsTheLastGoodFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("users-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("users.yaml").path
        try Self.good.write(toFile: path, atomically: true, encoding: .utf8)
        let registry = UserRegistry(adminToken: "", users: try UsersFileWatcher.load(path))
        let watcher = UsersFileWatcher(path: path, registry: registry, pollInterval: .milliseconds(20), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await watcher.run() }
            try "users: [\n".write(toFile: path, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(300))
            #expect(registry.identity(forToken: "alice-token")?.name == "alice")
            let bobOnly = "users:\n  - {name: bob, tokenSHA256: \(UserDirectory.tokenHash("bob-token"))}\n"
            try bobOnly.write(toFile: path, atomically: true, encoding: .utf8)
            let clock = ContinuousClock(), deadline = clock.now + .seconds(5)
            while registry.identity(forToken: "bob-token") == nil, clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(registry.identity(forToken: "bob-token")?.name == "bob")
            #expect(registry.identity(forToken: "alice-token") == nil)
            group.cancelAll()
        }
    }

    @Test func theGatewayTokenIsAnAdminWithNoName() {
        let registry = UserRegistry(adminToken: "gateway-token", users: .empty)
        #expect(registry.identity(forToken: "gateway-token") == .anonymousAdmin)
        #expect(registry.identity(forToken: "other") == nil)
        #expect(registry.requiresToken)
        #expect(!UserRegistry(adminToken: "").requiresToken)
    }

    @Test func ownershipRules() {
        let alice = UserIdentity(name: "alice", isAdmin: false, kernelspecs: ["echo"])
        #expect(alice.canAccess(ownedBy: "alice") && !alice.canAccess(ownedBy: "bob") && !alice.canAccess(ownedBy: nil))
        #expect(UserIdentity.anonymousAdmin.canAccess(ownedBy: "bob") && UserIdentity.anonymousAdmin.canAccess(ownedBy: nil))
        #expect(!UserIdentity.nobody.canAccess(ownedBy: nil) && !UserIdentity.nobody.mayStart(kernelSpec: "echo"))
        #expect(alice.mayStart(kernelSpec: "echo") && !alice.mayStart(kernelSpec: "python3"))
    }

    @Test func theUserHashIsTheFirst40HexDigitsOfSHA256() {
        // printf %s alice | sha256sum
        #expect(KernelPodLabels.userHash("alice") == "2bd806c97f0e00af1a1fc3328fa763a9269723c8")
        #expect(KernelPodLabels.owner(annotations: [KernelPodLabels.userAnnotation: "alice"],
                                      labels: [KernelPodLabels.userHashLabel: KernelPodLabels.userHash("alice")]) == "alice")
        #expect(KernelPodLabels.owner(annotations: [KernelPodLabels.userAnnotation: "alice"],
                                      labels: [KernelPodLabels.userHashLabel: KernelPodLabels.userHash("bob")]) == nil)
        #expect(KernelPodLabels.owner(annotations: [KernelPodLabels.userAnnotation: "alice"], labels: [:]) == "alice")
    }
}
