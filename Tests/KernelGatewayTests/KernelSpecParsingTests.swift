import JupyterProtocol
import KernelGateway
import Testing

@Suite struct KernelSpecParsingTests {
    private static let egLocal = "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy"
    private static let egKubernetes = "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy"

    private func parse(_ members: [String: JSONValue]) throws -> KernelSpec {
        var root: [String: JSONValue] = [
            "argv": .array([.string("python3"), .string("-f"), .string("{connection_file}")]),
            "display_name": .string("Python"),
            "language": .string("python"),
        ]
        root.merge(members) { _, new in new }
        return try KernelSpec.parse(name: "test", resourceDirectory: "/specs/test", json: .object(root))
    }

    private func metadata(className: String? = nil, provisioner: String? = nil,
                          config: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var proxy: [String: JSONValue] = ["config": .object(config)]
        if let className { proxy["class_name"] = .string(className) }
        var result: [String: JSONValue] = ["process_proxy": .object(proxy)]
        if let provisioner { result["elastic_jupyter"] = .object(["provisioner": .string(provisioner)]) }
        return ["metadata": .object(result)]
    }

    @Test func defaultsAndServedSpecShape() throws {
        let spec = try parse([:])
        #expect(spec.interruptMode == .signal)
        #expect(spec.env.isEmpty)
        #expect(spec.metadata.isEmpty)
        #expect(spec.provisioner == .local)
        #expect(spec.authorizedUsers == nil)
        #expect(spec.unauthorizedUsers.isEmpty)
        #expect(spec.specJSON == .object([
            "argv": .array([.string("python3"), .string("-f"), .string("{connection_file}")]),
            "env": .object([:]),
            "display_name": .string("Python"),
            "language": .string("python"),
            "interrupt_mode": .string("signal"),
            "metadata": .object([:]),
        ]))
    }

    @Test func interruptModeAndEnvAreRead() throws {
        let spec = try parse(["interrupt_mode": .string("MESSAGE"),
                              "env": .object(["A": .string("${KERNEL_USERNAME}")]),
                              "unknown_key": .number(1)])
        #expect(spec.interruptMode == .message)
        #expect(spec.env == ["A": "${KERNEL_USERNAME}"])
        guard case .object(let served) = spec.specJSON else { Issue.record("not an object"); return }
        #expect(served["interrupt_mode"] == .string("message"))
        #expect(!served.keys.contains("unknown_key"))
    }

    @Test func provisionerFromEnterpriseGatewayClassNames() throws {
        #expect(try parse(metadata()).provisioner == .local)
        #expect(try parse(metadata(className: "")).provisioner == .local)
        #expect(try parse(metadata(className: Self.egLocal)).provisioner == .local)
        #expect(try parse(metadata(className: Self.egKubernetes)).provisioner == .kubernetes)
    }

    @Test func ownProvisionerKeyWins() throws {
        #expect(try parse(metadata(className: Self.egLocal, provisioner: "kubernetes")).provisioner == .kubernetes)
        #expect(try parse(metadata(className: Self.egKubernetes, provisioner: "local")).provisioner == .local)
        let yarn = "enterprise_gateway.services.processproxies.yarn.YarnClusterProcessProxy"
        #expect(try parse(metadata(className: yarn, provisioner: "local")).provisioner == .local)
    }

    @Test func unsupportedProvisionersAreRejected() {
        let docker = "enterprise_gateway.services.processproxies.docker_swarm.DockerSwarmProcessProxy"
        #expect(throws: KernelSpecError.self) { try parse(metadata(className: docker)) }
        #expect(throws: KernelSpecError.self) { try parse(metadata(provisioner: "yarn")) }
    }

    @Test func typeErrorsAreRejected() {
        #expect(throws: KernelSpecError.self) { try parse(["argv": .string("python3")]) }
        #expect(throws: KernelSpecError.self) { try parse(["argv": .array([.number(1)])]) }
        #expect(throws: KernelSpecError.self) { try parse(["argv": .array([])]) }
        #expect(throws: KernelSpecError.self) { try parse(["display_name": .number(1)]) }
        #expect(throws: KernelSpecError.self) { try parse(["env": .array([])]) }
        #expect(throws: KernelSpecError.self) { try parse(["metadata": .string("x")]) }
        #expect(throws: KernelSpecError.self) { try parse(["interrupt_mode": .string("sometimes")]) }
        #expect(throws: KernelSpecError.self) {
            try KernelSpec.parse(name: "x", resourceDirectory: "/x", json: .array([]))
        }
    }

    @Test func kubernetesSpecsMayOmitArgv() throws {
        let spec = try KernelSpec.parse(name: "k", resourceDirectory: "/k", json: .object([
            "display_name": .string("K8s"), "language": .string("python"),
            "metadata": .object(["process_proxy": .object(["class_name": .string(Self.egKubernetes)])]),
        ]))
        #expect(spec.provisioner == .kubernetes)
        #expect(spec.argv.isEmpty)
    }

    @Test func userListsAreCommaSeparatedTrimmedStrings() throws {
        let spec = try parse(metadata(config: [
            "authorized_users": .string(" bob, alice ,,"),
            "unauthorized_users": .string("bad_guy , alice"),
        ]))
        #expect(spec.authorizedUsers == ["bob", "alice"])
        #expect(spec.unauthorizedUsers == ["bad_guy", "alice"])
        #expect(spec.allows(user: "bob"))
        #expect(!spec.allows(user: "alice"))  // unauthorized wins
        #expect(!spec.allows(user: "bad_guy"))
        #expect(!spec.allows(user: "carol"))  // not in the authorized list
        #expect(!spec.allows(user: "Bob"))    // case-sensitive, like EG
        #expect(!spec.allows(user: nil))
    }

    @Test func withoutAnAuthorizedListEveryoneButTheUnauthorizedMayStart() throws {
        let spec = try parse(metadata(config: ["authorized_users": .string(" , "),
                                               "unauthorized_users": .string("root")]))
        #expect(spec.authorizedUsers == nil)
        #expect(spec.allows(user: "anyone"))
        #expect(spec.allows(user: nil))
        #expect(!spec.allows(user: "root"))
    }

    @Test func userListsMayAlsoBeArrays() throws {
        let spec = try parse(metadata(config: ["authorized_users": .array([.string("a"), .string(" b ")])]))
        #expect(spec.authorizedUsers == ["a", "b"])
        #expect(throws: KernelSpecError.self) { try parse(metadata(config: ["authorized_users": .number(3)])) }
    }
}
