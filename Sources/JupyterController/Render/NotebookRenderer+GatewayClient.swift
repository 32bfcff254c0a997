import KubernetesAPI

extension NotebookRenderer {
    /// The ConfigMap with ``NotebookGatewayClient``'s module and the jupyter_server configuration selecting it.
    func gatewayClientConfigMap() -> DesiredChild {
        var object = factory.make(.configMaps, name: names.gatewayClient)
        object.fields["data"] = [
            .init(stringLiteral: NotebookGatewayClient.fileName): .string(NotebookGatewayClient.moduleSource),
            .init(stringLiteral: NotebookGatewayClient.configFileName): .string(NotebookGatewayClient.serverConfig),
        ]
        return DesiredChild(.configMaps, object)
    }

    /// `container` with the module mounted and found by Python (`PYTHONPATH`) and jupyter_server
    /// (`JUPYTER_CONFIG_PATH`): the directory goes first in a value the template sets; a variable the template
    /// takes from elsewhere (`valueFrom`) is left alone.
    static func addingGatewayClient(to container: KubeJSON) -> KubeJSON {
        var container = container
        var mounts = (container["volumeMounts"]?.arrayValue ?? []).filter { $0["name"]?.stringValue != NotebookGatewayClient.volumeName }
        mounts.append(["name": .string(NotebookGatewayClient.volumeName), "mountPath": .string(NotebookGatewayClient.mountPath),
                       "readOnly": true])
        container["volumeMounts"] = .array(mounts)
        var env = container["env"]?.arrayValue ?? []
        for name in ["PYTHONPATH", "JUPYTER_CONFIG_PATH"] {
            if let index = env.firstIndex(where: { $0["name"]?.stringValue == name }) {
                guard env[index]["valueFrom"] == nil else { continue }
                let value = env[index]["value"]?.stringValue ?? ""
                guard !value.split(separator: ":").contains(Substring(NotebookGatewayClient.mountPath)) else { continue }
                env[index]["value"] = .string(value.isEmpty ? NotebookGatewayClient.mountPath : NotebookGatewayClient.mountPath + ":" + value)
            } else {
                env.append(KubeJSON.env(name, NotebookGatewayClient.mountPath))
            }
        }
        container["env"] = .array(env)
        return container
    }

    /// `podSpec` with the ConfigMap as a read-only volume.
    func addingGatewayClientVolume(to podSpec: KubeJSON) -> KubeJSON {
        var podSpec = podSpec
        var volumes = (podSpec["volumes"]?.arrayValue ?? []).filter { $0["name"]?.stringValue != NotebookGatewayClient.volumeName }
        volumes.append(["name": .string(NotebookGatewayClient.volumeName),
                        "configMap": ["name": .string(names.gatewayClient), "defaultMode": 0o444]])
        podSpec["volumes"] = .array(volumes)
        return podSpec
    }
}
