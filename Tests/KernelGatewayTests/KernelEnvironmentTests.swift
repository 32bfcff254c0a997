import Foundation
import Testing
@testable import KernelGateway

@Suite("Kernel environment and argv")
struct KernelEnvironmentTests {
    let configuration = KernelManagerConfiguration(
        clientEnvs: ["ALLOWED_VAR"], inheritedEnvs: ["PATH"],
        gatewayEnvironment: ["PATH": "/usr/bin", "SECRET": "s", "EG_AUTH_TOKEN": "t"], rootDirectory: "/tmp")

    @Test func onlyKernelAndAllowListedVariablesPass() throws {
        let accepted = try KernelEnvironment.acceptedClientVariables(
            ["KERNEL_USERNAME": "bob", "ALLOWED_VAR": "1", "OTHER": "x", "EG_AUTH_TOKEN": "steal"], configuration: configuration)
        #expect(accepted == ["KERNEL_USERNAME": "bob", "ALLOWED_VAR": "1"])
    }

    @Test(arguments: ["a$b", "a`b", "a\nb", "a\rb", "a\0b", String(repeating: "x", count: 4097)])
    func prohibitedValuesAreRefused(value: String) {
        #expect(throws: GatewayError.self) {
            _ = try KernelEnvironment.acceptedClientVariables(["KERNEL_X": value], configuration: configuration)
        }
    }

    @Test func wildcardAllowsAllClientVariables() throws {
        var config = configuration
        config.clientEnvs = ["*"]
        let accepted = try KernelEnvironment.acceptedClientVariables(["ANY": "1"], configuration: config)
        #expect(accepted == ["ANY": "1"])
    }

    @Test func buildInheritsOnlyNamedVariablesAndSubstitutes() {
        let spec = KernelSpecFixture.make(env: ["GREETING": "hi ${KERNEL_USERNAME}", "KEEP": "$UNKNOWN and ${ALSO_UNKNOWN}"])
        let env = KernelEnvironment.build(
            clientVariables: ["KERNEL_USERNAME": "alice"], spec: spec, kernelID: "k1", configuration: configuration)
        #expect(env["PATH"] == "/usr/bin")
        #expect(env["SECRET"] == nil)
        #expect(env["EG_AUTH_TOKEN"] == nil)
        #expect(env["GREETING"] == "hi alice")
        #expect(env["KEEP"] == "$UNKNOWN and ${ALSO_UNKNOWN}")
        #expect(env["KERNEL_ID"] == "k1")
        #expect(env["KERNEL_USERNAME"] == "alice")
    }

    @Test func argvPlaceholdersAreSubstitutedAndUnknownOnesKept() {
        let argv = ArgvTemplate.render(["python", "-f", "{connection_file}", "{kernel_id}-{unknown}", "{", "x{resource_dir}y"],
                                       values: ["connection_file": "/r/c.json", "kernel_id": "k", "resource_dir": "/s"])
        #expect(argv == ["python", "-f", "/r/c.json", "k-{unknown}", "{", "x/sy"])
    }

    @Test func workingDirectoryIsConfinedToTheRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ej-wd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let real = WorkingDirectory.realPath(root)!
        #expect(try WorkingDirectory.resolve(notebookPath: "sub/nb.ipynb", kernelWorkingDir: nil, root: root) == real + "/sub")
        #expect(try WorkingDirectory.resolve(notebookPath: "missing/nb.ipynb", kernelWorkingDir: nil, root: root) == real)
        #expect(try WorkingDirectory.resolve(notebookPath: nil, kernelWorkingDir: nil, root: root) == real)
        #expect(throws: GatewayError.self) {
            _ = try WorkingDirectory.resolve(notebookPath: "../../etc/passwd.ipynb", kernelWorkingDir: nil, root: root)
        }
        // jupyter_server's KERNEL_WORKING_DIR: used inside the root, ignored (root) outside it.
        #expect(try WorkingDirectory.resolve(notebookPath: nil, kernelWorkingDir: "/etc", root: root) == real)
        #expect(try WorkingDirectory.resolve(notebookPath: nil, kernelWorkingDir: real + "/sub", root: root) == real + "/sub")
        #expect(try WorkingDirectory.resolve(notebookPath: nil, kernelWorkingDir: real + "/sub/../..", root: root) == real)
    }
}
