import Foundation
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

        if let problem = NotebookIdentity.problem(with: notebook) {
            return try await reportInvalid(withFinalizer, error: ControllerError.invalidSpec(problem))
        }
        if let problem = Self.authProblem(notebook) {
            return try await reportInvalid(withFinalizer, error: ControllerError.invalidSpec(problem))
        }

        try await clearCullMark(notebook)
        let idle = try await checkIdle(notebook, now: Date(), logger: logger)
        // The patch that stopped it brings the notebook back (watched), to be stopped like any other.
        if idle == .culled { return .awaitChange }

        let (resolved, connection, gateway) = try await resolveGateway(of: notebook)
        var check = resolved
        var rendering: NotebookRendering?
        var failure: (any Error)?
        var claimProblem: ClaimProblem?
        var claimPending = false
        if check.usable {
            do {
                var gatewayToken: String?
                if let gateway {
                    let identity = try await claimIdentity(notebook, on: gateway, logger: logger)
                    gatewayToken = identity.token
                    if let conflict = identity.conflict { check = conflict }
                }
                if check.usable {
                    let rendered = NotebookRenderer(NotebookRenderInput(
                        notebook: notebook, gateway: connection, notebookToken: try await notebookToken(notebook),
                        gatewayToken: gatewayToken, passwordHash: try await passwordHash(notebook), settings: context.settings)).render()
                    rendering = rendered
                    try await apply(rendered, notebook: notebook, logger: logger)
                    if notebook.spec.stopped == true, gateway != nil { try await shutDownKernels(of: notebook, logger: logger) }
                    (claimPending, claimProblem) = await inspectClaim(rendered, of: notebook, logger: logger)
                }
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
            kernels: kernelCount(notebook), error: failure, claimProblem: claimProblem, idle: idle
        ).build(previous: object.status)
        try await StatusWriter.write(status, to: withFinalizer, resource: JupyterResources.notebooks, client: context.client)

        if let failure {
            await context.recorder.record(object, .warning, reason: (failure as? ControllerError)?.reason ?? "ReconcileError", message: "\(failure)")
            throw failure
        }
        if check.reason == "GatewayNotAllowed" {
            try await withdrawLegacyGatewayToken(of: notebook, logger: logger)
            let names = NotebookNames(notebook: notebook.name)
            try await remove(NotebookRenderer.gatewayAccessChildren(namespace: notebook.namespace, names: names), notebook: notebook)
        }
        guard check.usable else {
            // Not a failure of ours: retried with backoff, and at once when the gateway (or a notebook holding
            // the same user) changes.
            logger.info("waiting for the gateway", metadata: ["reason": "\(check.reason)", "message": "\(check.message)"])
            await context.recorder.record(object, .warning, reason: check.reason, message: check.message)
            return .requeueWithBackoff
        }
        // A Pending claim is looked at again after the grace (claims are not watched).
        // A notebook that may be culled is looked at again within a quarter of its idle limit.
        var next = claimPending ? min(context.resyncPeriod, context.claimPendingGrace) : context.resyncPeriod
        if let after = Self.cullAfter(notebook) {
            // A server that answered badly is asked again less often: a slow one holds a worker for the probe's limit.
            let interval = Self.idleCheckInterval(cullAfter: after)
            if case .failed = idle { next = min(next, max(interval, Self.failedIdleCheckInterval)) } else { next = min(next, interval) }
        }
        return .requeue(after: next)
    }

    /// JupyterLab's token: the spec's, the stored one, or a new one (`nil` when disabled or from the user's Secret).
    func notebookToken(_ notebook: JupyterNotebook) async throws -> String? {
        let auth = notebook.spec.auth
        if auth?.mode == "disable" || KernelSpecRenderer.nonEmpty(auth?.secretName) != nil { return nil }
        if let token = KernelSpecRenderer.nonEmpty(auth?.token) { return token }
        return try await context.tokens.readOrGenerate(
            namespace: notebook.namespace, secret: NotebookNames(notebook: notebook.name).secret, key: NotebookRenderer.tokenKey)
    }

    /// The hash of `auth.password` to configure, keeping the stored one (its salt) while the password is the same;
    /// `nil` without a password or with auth disabled.
    func passwordHash(_ notebook: JupyterNotebook) async throws -> String? {
        guard notebook.spec.auth?.mode != "disable", let password = KernelSpecRenderer.nonEmpty(notebook.spec.auth?.password) else { return nil }
        let secret: KubeObject?
        do {
            secret = try await context.client.get(
                .secrets, name: NotebookNames(notebook: notebook.name).secret, namespace: notebook.namespace, as: KubeObject.self)
        } catch KubernetesError.notFound {
            secret = nil
        }
        return PasswordHash.forPassword(password, current: NotebookRenderer.storedPasswordHash(in: secret))
    }

    /// A password the schema would have refused (too long, or with control characters), if any.
    static func authProblem(_ notebook: JupyterNotebook) -> String? {
        guard let password = notebook.spec.auth?.password else { return nil }
        if password.utf8.count > JupyterNotebookSpec.maxPasswordLength {
            return "auth.password is longer than \(JupyterNotebookSpec.maxPasswordLength) bytes"
        }
        if password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "auth.password contains control characters"
        }
        return nil
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
        try await remove(rendering.absent, notebook: notebook)
    }

    /// Deletes children the notebook no longer needs, if they exist and are its own.
    func remove(_ absent: [AbsentChild], notebook: JupyterNotebook) async throws {
        for child in absent where try await context.applier.remove(child, ownerUID: notebook.object.uid ?? "") {
            await context.recorder.record(notebook.object, .normal, reason: "Deleted", message: "Deleted \(child.resource.kind) \(child.name)")
        }
    }

    /// Looks at the notebook's claim (claims and StorageClasses are not watched: read from the API, the StorageClasses
    /// only when needed): why it stays Pending, if it has for longer than the grace; and a generated claim whose
    /// `storage.size` grew is patched to the new size when its StorageClass allows expansion (a problem otherwise).
    func inspectClaim(_ rendering: NotebookRendering, of notebook: JupyterNotebook, logger: Logger) async -> (pending: Bool, problem: ClaimProblem?) {
        guard let name = rendering.pvcName,
              let claim = try? await context.client.get(.persistentVolumeClaims, name: name, namespace: notebook.namespace, as: KubeObject.self)
        else { return (false, nil) }
        let classes: () async -> [KubeObject]? = { [context] in
            try? await context.client.listAll(.storageClasses, namespace: nil, options: ListOptions(), as: KubeObject.self).items
        }
        if claim.status?["phase"]?.stringValue ?? "Pending" == "Pending" {
            let grace = Double(context.claimPendingGrace.components.seconds)
            return (true, ClaimProblem.diagnose(claim: claim, storageClasses: await classes(), grace: grace))
        }
        let desired = rendering.children.first { $0.resource == .persistentVolumeClaims }?
            .object[path: "spec", "resources", "requests", "storage"]?.stringValue
        guard let desired, case .grow = ClaimResize.decide(desiredSize: desired, claim: claim, storageClasses: nil) else { return (false, nil) }
        switch ClaimResize.decide(desiredSize: desired, claim: claim, storageClasses: await classes()) {
        case .none:
            return (false, nil)
        case .notExpandable(let storageClass):
            return (false, ClaimProblem(reason: "ClaimNotExpandable", message:
                "claim \(name) cannot grow to \(desired): StorageClass \(storageClass) does not allow volume expansion"))
        case .grow(let size):
            let patch: KubeJSON = ["spec": ["resources": ["requests": ["storage": .string(size)]]]]
            do {
                let _: KubeObject = try await context.client.patch(.persistentVolumeClaims, name: name, namespace: notebook.namespace, patch: patch)
                logger.info("claim grown", metadata: ["claim": "\(name)", "size": "\(size)"])
                await context.recorder.record(notebook.object, .normal, reason: "ClaimResized", message: "Claim \(name) grows to \(size)")
                return (false, nil)
            } catch {
                return (false, ClaimProblem(reason: "ClaimNotExpandable", message: "claim \(name) cannot grow to \(size): \(error)"))
            }
        }
    }

    /// A stopped notebook's kernels on its gateway are shut down (their pods deleted, marked as ended on purpose). Its
    /// users entry is gone already (``UsersSecretSync``), so no new one starts.
    func shutDownKernels(of notebook: JupyterNotebook, logger: Logger) async throws {
        guard let reference = notebook.spec.gateway, kernelCount(notebook) > 0 else { return }
        let selector = ControllerLabels.kernelPodSelector(
            gateway: reference.name, userHash: NotebookIdentity.userHash(NotebookIdentity.user(of: notebook)))
        for namespace in Set([reference.namespace(defaultingTo: notebook.namespace), notebook.namespace]).sorted() {
            _ = try await context.kernelPods.deleteAll(namespace: namespace, selector: selector, logger: logger)
        }
    }

    /// Kernel pods of this notebook's user on its gateway: in the notebook's namespace (where the gateway runs them)
    /// and the gateway's (where it ran them before, or when the users entry has no namespace).
    func kernelCount(_ notebook: JupyterNotebook) -> Int {
        guard let reference = notebook.spec.gateway else { return 0 }
        let labels = [
            ControllerLabels.component: ControllerLabels.kernelComponent, ControllerLabels.gateway: ControllerLabels.labelValue(reference.name),
            ControllerLabels.userHash: NotebookIdentity.userHash(NotebookIdentity.user(of: notebook)),
        ]
        return Set([reference.namespace(defaultingTo: notebook.namespace), notebook.namespace]).reduce(0) { total, namespace in
            total + KernelPods.count(in: context.stores.kernelPods.list(namespace: namespace), namespace: namespace, labels: labels)
        }
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
