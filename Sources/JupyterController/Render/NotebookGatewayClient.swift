/// The Python module notebook pods load so that jupyter_server holds, rather than loses, what a notebook sends
/// while a gateway replica is replaced, shipped in a ConfigMap the notebook pod mounts.
enum NotebookGatewayClient {
    /// The module's file name.
    static let fileName = "elastic_jupyter_gateway_client.py"
    /// jupyter_server's configuration file in the same directory (found through `JUPYTER_CONFIG_PATH`).
    static let configFileName = "jupyter_server_config.json"
    /// Where the ConfigMap is mounted in the notebook container.
    static let mountPath = "/etc/elastic-jupyter/gateway-client"
    /// The pod volume's name.
    static let volumeName = "gateway-client"
    /// `ServerApp.kernel_websocket_connection_class`.
    static let connectionClass = "elastic_jupyter_gateway_client.HoldingGatewayWebSocketConnection"

    /// jupyter_server's configuration selecting the connection class.
    static let serverConfig = #"{"ServerApp": {"kernel_websocket_connection_class": "\#(connectionClass)"}}"# + "\n"

    /// The module's source (`Sources/JupyterController/NotebookClient/elastic_jupyter_gateway_client.py`,
    /// embedded at build time).
    static let moduleSource = String(decoding: PackageResources.elastic_jupyter_gateway_client_py, as: UTF8.self)
}
