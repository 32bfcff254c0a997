import KubernetesAPI
import Logging

extension NotebookReconciler {
    /// Key of the gateway's shared token that notebook Secrets held before notebooks had their own.
    static let legacyGatewayTokenKey = "gateway-token"

    /// Finds the gateway (and, over HTTPS, its CA); a missing or unusable gateway is a condition, not an error.
    func resolveGateway(of notebook: JupyterNotebook) async throws -> (GatewayCheck, GatewayConnection?, JupyterGateway?) {
        guard let reference = notebook.spec.gateway else { return (.none, nil, nil) }
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        let where_ = "\(namespace)/\(reference.name)"
        guard let object = context.stores.gateways.get(namespace: namespace, name: reference.name) else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayNotFound", message: "JupyterGateway \(where_) not found"), nil, nil)
        }
        guard !object.metadata.isBeingDeleted else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayTerminating", message: "JupyterGateway \(where_) is being deleted"), nil, nil)
        }
        guard let gateway = try? JupyterGateway(object), gateway.spec.rangeProblems.isEmpty else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayInvalid", message: "JupyterGateway \(where_) has an invalid spec"), nil, nil)
        }
        // Consent first: nothing of another namespace's gateway (not even its CA) is read on the controller's
        // authority unless that gateway allows this namespace.
        guard try await context.consents(gateway, to: notebook.namespace) else {
            return (GatewayCheck(
                usable: false, ready: false, reason: "GatewayNotAllowed",
                message: "JupyterGateway \(where_) does not allow notebooks of namespace \(notebook.namespace) (spec.allowedNamespaces)"), nil, nil)
        }
        var ca: String?
        if let tls = gateway.spec.tls {
            ca = try await certificateAuthority(namespace: namespace, secret: tls.secretName)
            guard ca != nil else {
                return (GatewayCheck(
                    usable: false, ready: false, reason: "GatewayCAUnavailable",
                    message: "the TLS Secret \(tls.secretName) of JupyterGateway \(where_) has no ca.crt (or tls.crt) yet"), nil, nil)
            }
        }
        let ready = Condition.list(from: object.status)[type: "Ready"]?.isTrue ?? false
        let connection = GatewayConnection(
            name: gateway.name, namespace: namespace, url: GatewayRenderer.url(for: gateway),
            launchTimeout: gateway.spec.launchTimeoutInRange, caCertificate: ca)
        let check = GatewayCheck(
            usable: true, ready: ready, reason: ready ? "GatewayReady" : "GatewayNotReady",
            message: ready ? "JupyterGateway \(where_) is ready" : "JupyterGateway \(where_) is not ready yet")
        return (check, connection, gateway)
    }

    /// The CA the notebook trusts the gateway with: `ca.crt` of its TLS Secret, else `tls.crt` (a self-signed
    /// certificate is its own CA). Read from the API: the TLS Secret is not one of ours.
    func certificateAuthority(namespace: String, secret: String) async throws -> String? {
        for key in [NotebookRenderer.gatewayCAKey, "tls.crt"] {
            if let pem = try await context.tokens.read(namespace: namespace, secret: secret, key: key) { return pem }
        }
        return nil
    }

    /// The notebook's own gateway token (the stored one, or a new one), and its entry in the gateway's users
    /// Secret. A user name another notebook already holds on this gateway is a conflict (condition
    /// `UserConflict`): the notebook gets no entry and nothing is rendered.
    func claimIdentity(_ notebook: JupyterNotebook, on gateway: JupyterGateway, logger: Logger) async throws -> (token: String, conflict: GatewayCheck?) {
        let token = try await context.tokens.readOrGenerate(
            namespace: notebook.namespace, secret: NotebookNames(notebook: notebook.name).gatewayTokenSecret, key: NotebookRenderer.gatewayTokenKey)
        let key = ObjectKey(notebook.object)
        let roster = try await UsersSecretSync(context: context).sync(gateway, fresh: [key: NotebookIdentity.tokenHash(token)], logger: logger)
        guard let holder = roster.conflicts[key] else { return (token, nil) }
        let user = NotebookIdentity.user(of: notebook)
        return (token, GatewayCheck(
            usable: false, ready: false, reason: "UserConflict",
            message: "user \(user) is already used on JupyterGateway \(gateway.namespace)/\(gateway.name) by JupyterNotebook \(holder) "
                + "(user names are unique per gateway: set spec.user)"))
    }

    /// Consent withdrawn: a copy of the gateway's shared token that an older controller put into this
    /// notebook's Secret is removed (notebooks now have their own token, whose entry the roster drops).
    func withdrawLegacyGatewayToken(of notebook: JupyterNotebook, logger: Logger) async throws {
        let name = NotebookNames(notebook: notebook.name).secret
        guard let secret = context.stores.secrets.get(namespace: notebook.namespace, name: name),
            secret.fields["data"]?[Self.legacyGatewayTokenKey] != nil
        else { return }
        let patch: KubeJSON = ["data": [Self.legacyGatewayTokenKey: .null]]
        do {
            let _: KubeObject = try await context.client.patch(.secrets, name: name, namespace: notebook.namespace, patch: patch)
            logger.info("gateway token withdrawn from \(notebook.namespace)/\(name): the gateway no longer allows this namespace")
        } catch KubernetesError.notFound {
        }
    }
}
