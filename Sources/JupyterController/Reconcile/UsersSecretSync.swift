import KubernetesAPI
import Logging

/// Keeps a gateway's users Secret (`<gateway>-users`, key `users.yaml`) equal to the ``UsersRoster`` of the
/// notebooks using it. Every writer (each notebook's reconcile, the gateway's) rebuilds the whole list from the
/// notebooks that exist and writes it with a `resourceVersion`-guarded update, retried on a conflict, so
/// concurrent writers converge on the same content.
struct UsersSecretSync: Sendable {
    /// Key of the users file in the Secret.
    static let fileKey = "users.yaml"
    /// Attempts of a write that keeps meeting conflicts.
    static let attempts = 5

    let context: ReconcileContext

    /// Rebuilds and writes the users Secret of `gateway`.
    /// - Parameters:
    ///   - gateway: The gateway (not being deleted).
    ///   - fresh: Token hashes newer than the informer cache (the reconciling notebook's), by notebook.
    ///   - logger: Logger.
    /// - Returns: The roster written.
    @discardableResult
    func sync(_ gateway: JupyterGateway, fresh: [ObjectKey: String] = [:], logger: Logger) async throws -> UsersRoster {
        var attempt = 1
        while true {
            let roster = try await roster(of: gateway, fresh: fresh)
            do {
                let outcome = try await context.applier.apply(Self.secret(roster, gateway: gateway), ownerUID: gateway.object.uid ?? "")
                if outcome != .unchanged {
                    logger.info("\(outcome) users Secret of \(gateway.namespace)/\(gateway.name): \(roster.entries.count) user(s)")
                }
                return roster
            } catch KubernetesError.conflict where attempt < Self.attempts {
                attempt += 1
            }
        }
    }

    /// The roster from the cached notebooks that use `gateway` with its consent, deleting ones included.
    func roster(of gateway: JupyterGateway, fresh: [ObjectKey: String] = [:]) async throws -> UsersRoster {
        var consent: [String: Bool] = [:]
        var claims: [UserClaim] = []
        for object in context.stores.notebooks.list() {
            guard let notebook = try? JupyterNotebook(object), let reference = notebook.spec.gateway,
                reference.name == gateway.name, reference.namespace(defaultingTo: notebook.namespace) == gateway.namespace,
                NotebookIdentity.problem(with: notebook) == nil
            else { continue }
            if consent[notebook.namespace] == nil { consent[notebook.namespace] = try await context.consents(gateway, to: notebook.namespace) }
            guard consent[notebook.namespace] == true else { continue }
            let key = ObjectKey(object)
            var hash = fresh[key]
            if hash == nil { hash = try await tokenHash(of: notebook) }
            let renderer = NotebookRenderer(NotebookRenderInput(notebook: notebook, gateway: nil, notebookToken: nil))
            claims.append(UserClaim(
                notebook: key, user: NotebookIdentity.user(of: notebook), createdAt: object.metadata.creationTimestamp ?? "",
                tokenSHA256: hash, workspace: renderer.workspace,
                deleting: object.metadata.isBeingDeleted || notebook.spec.stopped == true))
        }
        return UsersRoster(claims: claims)
    }

    /// SHA-256 of the notebook's gateway token (only from a Secret the notebook controls): from the cache, or
    /// from the API when the cache has none (a Secret just created, not seen yet), so that one writer's lagging
    /// cache does not drop another notebook's entry for a moment.
    func tokenHash(of notebook: JupyterNotebook) async throws -> String? {
        let name = NotebookNames(notebook: notebook.name).gatewayTokenSecret
        var found = context.stores.secrets.get(namespace: notebook.namespace, name: name)
        if found == nil {
            do {
                found = try await context.client.get(.secrets, name: name, namespace: notebook.namespace, as: KubeObject.self)
            } catch KubernetesError.notFound {
                return nil
            }
        }
        guard let secret = found, secret.metadata.controllerReference?.uid == notebook.object.uid,
            let encoded = secret.data?[NotebookRenderer.gatewayTokenKey]?.stringValue,
            let token = Base64.decode(encoded), !token.isEmpty
        else { return nil }
        return NotebookIdentity.tokenHash(token)
    }

    /// The users Secret for `roster`, owned by the gateway. Pure.
    static func secret(_ roster: UsersRoster, gateway: JupyterGateway) -> DesiredChild {
        let names = GatewayNames(gateway: gateway.name)
        let factory = ObjectFactory(
            namespace: gateway.namespace, labels: GatewayRenderer.labels(names: names, component: "gateway"), owner: gateway.ownerReference)
        var object = factory.make(.secrets, name: names.usersSecret)
        object.fields["type"] = "Opaque"
        object.fields["data"] = [fileKey: .string(Base64.encode(roster.yaml))]
        return DesiredChild(.secrets, object)
    }
}
