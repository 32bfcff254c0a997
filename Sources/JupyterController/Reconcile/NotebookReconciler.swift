import KubernetesAPI
import KubernetesRuntime
import Logging

/// Reconciles one JupyterNotebook: finalizer, gateway wiring, children, status. Level-based and idempotent.
public struct NotebookReconciler: Reconciler {
    /// Shared dependencies.
    public let context: ReconcileContext

    /// Creates the reconciler.
    public init(context: ReconcileContext) { self.context = context }

    /// Reconciles the notebook with this key.
    public func reconcile(_ key: ObjectKey, logger: Logger) async throws -> ReconcileAction {
        guard let object = context.stores.notebooks.get(key) else { return .awaitChange }
        if object.metadata.isBeingDeleted {
            let spec = (try? JupyterNotebook(object))?.spec ?? JupyterNotebookSpec()
            return try await finalize(JupyterNotebook(object: object, spec: spec), logger: logger)
        }
        let notebook: JupyterNotebook
        do {
            notebook = try JupyterNotebook(object)
        } catch {
            return try await reportInvalid(object, error: error)
        }
        let withFinalizer = try await Finalizers.add(
            ControllerLabels.notebookFinalizer, to: object, resource: JupyterResources.notebooks, client: context.client)

        let refusals = KernelPodPolicy.notebook().pod(notebook.spec.template ?? .emptyObject, path: "spec.template")
        guard refusals.isEmpty else { return try await reportRefused(notebook, stored: withFinalizer, refusals: refusals) }

        let (check, connection) = try await resolveGateway(of: notebook)
        var rendering: NotebookRendering?
        var failure: (any Error)?
        if check.usable {
            do {
                let rendered = NotebookRenderer(NotebookRenderInput(
                    notebook: notebook, gateway: connection, notebookToken: try await notebookToken(notebook),
                    settings: context.settings)).render()
                rendering = rendered
                try await apply(rendered, notebook: notebook, logger: logger)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                failure = error
            }
        }

        let workload = WorkloadState(
            deployment: context.stores.deployments.get(namespace: notebook.namespace, name: NotebookNames(notebook: notebook.name).workload))
        let status = NotebookStatusBuilder(
            notebook: notebook, rendering: rendering, gateway: check, gatewayURL: connection?.url, workload: workload,
            kernels: kernelCount(notebook), error: failure
        ).build(previous: object.status)
        try await StatusWriter.write(status, to: withFinalizer, resource: JupyterResources.notebooks, client: context.client)

        if let failure {
            await context.recorder.record(object, .warning, reason: (failure as? ControllerError)?.reason ?? "ReconcileError", message: "\(failure)")
            throw failure
        }
        if check.reason == "GatewayNotAllowed" { try await withdrawGatewayToken(of: notebook, logger: logger) }
        guard check.usable else {
            // Not a failure of ours: retried with backoff, and at once when the gateway changes. A gateway
            // created together with the notebook has no token for a moment: that is only worth a Normal event.
            logger.info("waiting for the gateway", metadata: ["reason": "\(check.reason)", "message": "\(check.message)"])
            let type: EventRecorder.EventType = check.reason == "GatewayTokenUnavailable" ? .normal : .warning
            await context.recorder.record(object, type, reason: check.reason, message: check.message)
            return .requeueWithBackoff
        }
        return .requeue(after: context.resyncPeriod)
    }

    /// Finds the gateway and its token; a missing or unusable gateway is a condition, not an error.
    func resolveGateway(of notebook: JupyterNotebook) async throws -> (GatewayCheck, GatewayConnection?) {
        guard let reference = notebook.spec.gateway else { return (.none, nil) }
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        let where_ = "\(namespace)/\(reference.name)"
        guard let object = context.stores.gateways.get(namespace: namespace, name: reference.name) else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayNotFound", message: "JupyterGateway \(where_) not found"), nil)
        }
        guard !object.metadata.isBeingDeleted else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayTerminating", message: "JupyterGateway \(where_) is being deleted"), nil)
        }
        guard let gateway = try? JupyterGateway(object), gateway.spec.rangeProblems.isEmpty else {
            return (GatewayCheck(usable: false, ready: false, reason: "GatewayInvalid", message: "JupyterGateway \(where_) has an invalid spec"), nil)
        }
        // Consent first: nothing of another namespace's gateway (not even whether its token exists) is read
        // on the controller's authority unless that gateway allows this namespace.
        guard try await consents(gateway, to: notebook.namespace) else {
            return (GatewayCheck(
                usable: false, ready: false, reason: "GatewayNotAllowed",
                message: "JupyterGateway \(where_) does not allow notebooks of namespace \(notebook.namespace) (spec.allowedNamespaces)"), nil)
        }
        let secret = gateway.spec.authTokenSecret?.name ?? GatewayNames(gateway: gateway.name).generatedAuthSecret
        let key = gateway.spec.authTokenSecret?.resolvedKey ?? "token"
        guard let token = try await context.tokens.read(namespace: namespace, secret: secret, key: key) else {
            return (GatewayCheck(
                usable: false, ready: false, reason: "GatewayTokenUnavailable",
                message: "the auth token of JupyterGateway \(where_) (Secret \(secret), key \(key)) is not available yet"), nil)
        }
        let ready = Condition.list(from: object.status)[type: "Ready"]?.isTrue ?? false
        let connection = GatewayConnection(
            name: gateway.name, namespace: namespace, url: GatewayRenderer.url(for: gateway), token: token,
            launchTimeout: gateway.spec.launchTimeoutInRange)
        let check = GatewayCheck(
            usable: true, ready: ready, reason: ready ? "GatewayReady" : "GatewayNotReady",
            message: ready ? "JupyterGateway \(where_) is ready" : "JupyterGateway \(where_) is not ready yet")
        return (check, connection)
    }

    /// Consent withdrawn: the gateway token copied into this notebook's Secret earlier is removed.
    func withdrawGatewayToken(of notebook: JupyterNotebook, logger: Logger) async throws {
        let name = NotebookNames(notebook: notebook.name).secret
        guard let secret = context.stores.secrets.get(namespace: notebook.namespace, name: name),
            secret.fields["data"]?[NotebookRenderer.gatewayTokenKey] != nil
        else { return }
        let patch: KubeJSON = ["data": [NotebookRenderer.gatewayTokenKey: .null]]
        do {
            let _: KubeObject = try await context.client.patch(.secrets, name: name, namespace: notebook.namespace, patch: patch)
            logger.info("gateway token withdrawn from \(notebook.namespace)/\(name): the gateway no longer allows this namespace")
        } catch KubernetesError.notFound {
        }
    }

    /// Whether `gateway` allows notebooks of `namespace` (reads the Namespace's labels only for a selector).
    func consents(_ gateway: JupyterGateway, to namespace: String) async throws -> Bool {
        var labels: [String: String]?
        if NamespaceConsent.needsLabels(namespace, gateway: gateway) {
            do {
                labels = try await context.client.get(.namespaces, name: namespace, as: KubeObject.self).labels
            } catch KubernetesError.notFound {
                labels = nil
            }
        }
        return NamespaceConsent.allows(namespace, gateway: gateway, namespaceLabels: labels)
    }

    /// JupyterLab's token: the spec's, the stored one, or a new one (`nil` when disabled or from the user's Secret).
    func notebookToken(_ notebook: JupyterNotebook) async throws -> String? {
        let auth = notebook.spec.auth
        if auth?.mode == "disable" || KernelSpecRenderer.nonEmpty(auth?.secretName) != nil { return nil }
        if let token = KernelSpecRenderer.nonEmpty(auth?.token) { return token }
        return try await context.tokens.readOrGenerate(
            namespace: notebook.namespace, secret: NotebookNames(notebook: notebook.name).secret, key: NotebookRenderer.tokenKey)
    }

    func apply(_ rendering: NotebookRendering, notebook: JupyterNotebook, logger: Logger) async throws {
        let applier = context.applier
        for child in rendering.children {
            let outcome = try await applier.apply(child, ownerUID: notebook.object.uid ?? "")
            if outcome != .unchanged {
                logger.info("\(outcome) \(child.description)")
                await context.recorder.record(
                    notebook.object, .normal, reason: outcome == .created ? "Created" : "Updated",
                    message: "\(outcome == .created ? "Created" : "Updated") \(child.resource.kind) \(child.object.name)")
            }
        }
    }

    /// Kernel pods of this notebook on its gateway.
    func kernelCount(_ notebook: JupyterNotebook) -> Int {
        guard let reference = notebook.spec.gateway else { return 0 }
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        return KernelPods.count(
            in: context.stores.kernelPods.list(namespace: namespace), namespace: namespace,
            labels: [
                ControllerLabels.component: "kernel", ControllerLabels.gateway: ControllerLabels.labelValue(reference.name),
                ControllerLabels.notebook: NotebookNames(notebook: notebook.name).instanceLabel,
            ])
    }

    /// Shuts the notebook's kernels down (deletes their pods on the gateway), then releases the finalizer.
    /// The work-directory claim is left alone: it is not owned by the notebook unless the spec says so.
    func finalize(_ notebook: JupyterNotebook, logger: Logger) async throws -> ReconcileAction {
        guard notebook.object.finalizers.contains(ControllerLabels.notebookFinalizer) else { return .awaitChange }
        if let reference = notebook.spec.gateway, try await mayTouchKernels(of: reference, notebook: notebook) {
            let pods = try await context.kernelPods.deleteAll(
                namespace: reference.namespace(defaultingTo: notebook.namespace),
                selector: ControllerLabels.kernelPodSelector(gateway: reference.name, notebook: notebook.name), logger: logger)
            switch KernelPods.finalizerDecision(pods, deletionTimestamp: notebook.object.metadata.deletionTimestamp) {
            case .wait:
                await context.recorder.record(
                    notebook.object, .normal, reason: "DeletingKernels", message: "Shutting down \(pods.total) kernel(s) of this notebook")
                return .requeue(after: .seconds(1))
            case .giveUp:
                try await KernelPods.reportLeftBehind(pods, object: notebook.object, resource: JupyterResources.notebooks, context: context)
            case .done:
                break
            }
        }
        try await Finalizers.remove(
            ControllerLabels.notebookFinalizer, from: notebook.object, resource: JupyterResources.notebooks, client: context.client)
        logger.info("kernels gone, finalizer removed")
        return .awaitChange
    }

    /// Whether deleting this notebook may delete kernel pods on the referenced gateway: in the notebook's own
    /// namespace always; in another only while that gateway exists and allows the notebook's namespace.
    func mayTouchKernels(of reference: ObjectReference, notebook: JupyterNotebook) async throws -> Bool {
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        if namespace == notebook.namespace { return true }
        guard let object = context.stores.gateways.get(namespace: namespace, name: reference.name),
            let gateway = try? JupyterGateway(object)
        else { return false }
        return try await consents(gateway, to: notebook.namespace)
    }

    /// A template asking for refused fields: condition `TemplateRefused` naming them, an Event, nothing rendered.
    func reportRefused(_ notebook: JupyterNotebook, stored: KubeObject, refusals: [String]) async throws -> ReconcileAction {
        let message = "refused fields: " + refusals.joined(separator: ", ")
        var builder = NotebookStatusBuilder(
            notebook: notebook, rendering: nil, gateway: .none, gatewayURL: nil, workload: WorkloadState(deployment: nil),
            kernels: 0, error: ControllerError.invalidSpec(message))
        builder.templateRefusal = message
        try await StatusWriter.write(builder.build(previous: stored.status), to: stored, resource: JupyterResources.notebooks, client: context.client)
        await context.recorder.record(notebook.object, .warning, reason: "TemplateRefused", message: message)
        return .awaitChange
    }

    /// A spec that cannot be decoded: status Failed, an Event, and no retry until it changes.
    func reportInvalid(_ object: KubeObject, error: any Error) async throws -> ReconcileAction {
        let notebook = JupyterNotebook(object: object, spec: JupyterNotebookSpec())
        let status = NotebookStatusBuilder(
            notebook: notebook, rendering: nil, gateway: .none, gatewayURL: nil, workload: WorkloadState(deployment: nil),
            kernels: 0, error: error
        ).build(previous: object.status)
        try await StatusWriter.write(status, to: object, resource: JupyterResources.notebooks, client: context.client)
        await context.recorder.record(object, .warning, reason: "InvalidSpec", message: "\(error)")
        return .awaitChange
    }
}
