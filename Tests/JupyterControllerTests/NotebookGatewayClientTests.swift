import Foundation
@testable import JupyterController
import KubernetesAPI
import Testing

@Suite("Notebook pods load the gateway connection class that holds messages across a replica change")
struct NotebookGatewayClientTests {
    func render(_ notebook: JupyterNotebook, gateway: GatewayConnection? = Fixtures.connection) -> NotebookRendering {
        NotebookRenderer(NotebookRenderInput(
            notebook: notebook, gateway: gateway, notebookToken: "t",
            settings: RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "k:1"))).render()
    }

    @Test func theShippedModuleIsTheRepositorysFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/JupyterController/NotebookClient/\(NotebookGatewayClient.fileName)")
        #expect(try String(contentsOf: file, encoding: .utf8) == NotebookGatewayClient.moduleSource)
        let config = try JSONSerialization.jsonObject(with: Data(NotebookGatewayClient.serverConfig.utf8)) as? [String: [String: String]]
        #expect(config?["ServerApp"]?["kernel_websocket_connection_class"] == NotebookGatewayClient.connectionClass)
    }

    @Test func aNotebookWithAGatewayMountsTheModuleAndFindsIt() throws {
        let rendering = render(try Fixtures.notebook("nb", spec: ["gateway": ["name": "g"]]))
        let configMap = try #require(rendering.children.child("ConfigMap", "nb-gateway-client"))
        #expect(configMap.fields["data"]?[NotebookGatewayClient.fileName]?.stringValue == NotebookGatewayClient.moduleSource)
        let deployment = try #require(rendering.children.child("Deployment", "nb"))
        let env = deployment.containerEnv
        #expect(env["PYTHONPATH"]?["value"] == "/etc/elastic-jupyter/gateway-client")
        #expect(env["JUPYTER_CONFIG_PATH"]?["value"] == "/etc/elastic-jupyter/gateway-client")
        let spec = try #require(deployment[path: "spec", "template", "spec"])
        let volume = spec["volumes"]?.arrayValue?.first { $0["name"] == "gateway-client" }
        #expect(volume?[path: "configMap", "name"] == "nb-gateway-client")
        let mount = spec["containers"]?[0]?["volumeMounts"]?.arrayValue?.first { $0["name"] == "gateway-client" }
        #expect(mount?["mountPath"] == "/etc/elastic-jupyter/gateway-client")
        #expect(mount?["readOnly"] == true)
    }

    @Test func theTemplatesOwnPathsAreKeptAfterOurs() throws {
        let notebook = try Fixtures.notebook("nb", spec: [
            "gateway": ["name": "g"],
            "template": ["spec": ["containers": [["name": "notebook", "env": [
                ["name": "PYTHONPATH", "value": "/opt/lib"],
                ["name": "JUPYTER_CONFIG_PATH", "valueFrom": ["configMapKeyRef": ["name": "c", "key": "k"]]],
            ]]]]],
        ])
        let env = try #require(render(notebook).children.child("Deployment", "nb")).containerEnv
        #expect(env["PYTHONPATH"]?["value"] == "/etc/elastic-jupyter/gateway-client:/opt/lib")
        #expect(env["JUPYTER_CONFIG_PATH"]?["value"] == nil, "a variable taken from elsewhere is the user's choice")
    }

    @Test func withoutAGatewayNothingIsAdded() throws {
        let rendering = render(try Fixtures.notebook("nb", spec: [:]), gateway: nil)
        #expect(rendering.children.child("ConfigMap", "nb-gateway-client") == nil)
        #expect(rendering.children.child("Deployment", "nb")?.containerEnv["PYTHONPATH"] == nil)
    }
}
