import KubernetesAPI

extension NotebookRenderer {
    /// Volume of the gateway's CA in the notebook pod.
    static let gatewayCAVolumeName = "gateway-ca"
    /// Where the gateway's CA is mounted (`JUPYTER_GATEWAY_CA_CERTS` names the file in it).
    public static let gatewayCAPath = "/etc/elastic-jupyter/gateway-ca"
    /// Key (and file name) of the CA certificate.
    public static let gatewayCAKey = "ca.crt"

    /// The notebook's own gateway token: its identity on the gateway, whose users Secret holds only its
    /// SHA-256. Created once; deleting the Secret rotates the token (the controller makes a new one).
    func gatewayTokenSecret() -> DesiredChild? {
        guard input.gateway != nil, let token = input.gatewayToken else { return nil }
        var object = factory.make(.secrets, name: names.gatewayTokenSecret)
        object.fields["type"] = "Opaque"
        object.fields["data"] = [Self.gatewayTokenKey: .string(Base64.encode(token))]
        return DesiredChild(.secrets, object)
    }

    /// A copy of the CA of a gateway serving HTTPS, in the notebook's namespace (a pod mounts only objects of
    /// its own namespace; a CA certificate is public, so a ConfigMap).
    func gatewayCAConfigMap() -> DesiredChild? {
        guard let ca = input.gateway?.caCertificate else { return nil }
        var object = factory.make(.configMaps, name: names.gatewayCAConfigMap)
        object.fields["data"] = [Self.gatewayCAKey: .string(ca)]
        return DesiredChild(.configMaps, object)
    }

    /// The pod volume of the CA ConfigMap, when the gateway serves HTTPS.
    var gatewayCAVolume: KubeJSON? {
        guard input.gateway?.caCertificate != nil else { return nil }
        return [
            "name": .string(Self.gatewayCAVolumeName),
            "configMap": ["name": .string(names.gatewayCAConfigMap), "items": [["key": .string(Self.gatewayCAKey), "path": .string(Self.gatewayCAKey)]]],
        ]
    }

    /// The notebook's work directory as its user's workspace on the gateway, if it has one. Unless the claim
    /// is `ReadWriteMany` (an existing claim counts as `ReadWriteOnce` unless `spec.storage.accessModes` says
    /// otherwise), it carries the notebook pod's selector labels: the kernel pods must share that pod's node.
    public var workspace: UserWorkspace? {
        storage.map {
            UserWorkspace(
                claim: $0.claimName, mountPath: $0.mountPath, namespace: input.notebook.namespace,
                notebookPodLabels: $0.singleNode ? podSelector : nil)
        }
    }
}
