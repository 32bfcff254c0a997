import KubernetesAPI
import KubernetesRuntime
import Logging

/// Reconciles one JupyterGateway: finalizer, children, status. Level-based and idempotent.
public struct GatewayReconciler: Reconciler {
    /// Shared dependencies.
    public let context: ReconcileContext

    /// Creates the reconciler.
    public init(context: ReconcileContext) { self.context = context }

    /// Reconciles the gateway with this key.
    public func reconcile(_ key: ObjectKey, logger: Logger) async throws -> ReconcileAction {
        guard let object = context.stores.gateways.get(key) else { return .awaitChange }
        if object.metadata.isBeingDeleted {
            let spec = (try? JupyterGateway(object))?.spec ?? JupyterGatewaySpec()
            return try await finalize(JupyterGateway(object: object, spec: spec), logger: logger)
        }
        let gateway: JupyterGateway
        do {
            gateway = try JupyterGateway(object)
        } catch {
            return try await reportInvalid(object, error: error)
        }
        let problems = gateway.spec.rangeProblems + gateway.spec.refusedFields(gatewayImage: context.settings.gatewayImage)
        if !problems.isEmpty {
            return try await reportInvalid(object, error: ControllerError.invalidSpec(problems.joined(separator: "; ")))
        }
        let withFinalizer = try await Finalizers.add(
            ControllerLabels.gatewayFinalizer, to: object, resource: JupyterResources.gateways, client: context.client)

        var rendering: GatewayRendering?
        var failure: (any Error)?
        do {
            let rendered = try await render(gateway)
            rendering = rendered
            try await apply(rendered, gateway: gateway, logger: logger)
            // The users Secret is never rendered (that would empty it): it is rebuilt from the notebooks.
            try await UsersSecretSync(context: context).sync(gateway, logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            failure = error
        }

        let names = GatewayNames(gateway: gateway.name)
        let workload = WorkloadState(deployment: context.stores.deployments.get(namespace: gateway.namespace, name: names.workload))
        let kernelPods = context.stores.kernelPods.list(namespace: gateway.namespace)
        let kernelLabels = [ControllerLabels.component: ControllerLabels.kernelComponent, ControllerLabels.gateway: names.instanceLabel]
        var builder = GatewayStatusBuilder(
            gateway: gateway, rendering: rendering, workload: workload,
            kernels: KernelPods.count(in: kernelPods, namespace: gateway.namespace, labels: kernelLabels), error: failure,
            replicaLimit: context.settings.gatewayReplicaLimit)
        builder.gatewayImage = context.settings.gatewayImage
        builder.kernelStates = KernelPodStates(pods: kernelPods, namespace: gateway.namespace, labels: kernelLabels)
        if let rendering, gateway.spec.prePullEnabled {
            builder.prePull = PrePullProgress(sets: rendering.prePull, daemonSets: prePullDaemonSets(of: gateway))
        }
        let status = builder.build(previous: object.status)
        try await StatusWriter.write(status, to: withFinalizer, resource: JupyterResources.gateways, client: context.client)

        if let rendering, !rendering.missingKernelSpecs.isEmpty {
            await context.recorder.record(
                object, .warning, reason: "KernelSpecNotFound",
                message: "JupyterKernelSpec not found: \(rendering.missingKernelSpecs.joined(separator: ", "))")
        }
        if let failure {
            await context.recorder.record(object, .warning, reason: (failure as? ControllerError)?.reason ?? "ReconcileError", message: "\(failure)")
            throw failure
        }
        return .requeue(after: context.resyncPeriod)
    }

    /// Renders the children (reading or generating the auth token).
    func render(_ gateway: JupyterGateway) async throws -> GatewayRendering {
        var token: String?
        if gateway.spec.authTokenSecret == nil {
            token = try await context.tokens.readOrGenerate(
                namespace: gateway.namespace, secret: GatewayNames(gateway: gateway.name).generatedAuthSecret, key: "token")
        }
        var kernelSpecs: [String: JupyterKernelSpec] = [:]
        for object in context.stores.kernelSpecs.list(namespace: gateway.namespace) {
            if let kernelSpec = try? JupyterKernelSpec(object) { kernelSpecs[kernelSpec.name] = kernelSpec }
        }
        var templates: [ObjectKey: KubeObject] = [:]
        for template in context.stores.kernelTemplates.list() { templates[ObjectKey(template)] = template }
        let input = GatewayRenderInput(
            gateway: gateway, kernelSpecs: kernelSpecs, kernelTemplates: templates, authToken: token, settings: context.settings)
        return GatewayRenderer(input).render()
    }

    /// Applies every child and removes the absent ones.
    func apply(_ rendering: GatewayRendering, gateway: JupyterGateway, logger: Logger) async throws {
        let applier = context.applier
        let uid = gateway.object.uid ?? ""
        for child in rendering.children {
            let outcome = try await applier.apply(child, ownerUID: uid)
            if outcome != .unchanged {
                logger.info("\(outcome) \(child.description)")
                await context.recorder.record(
                    gateway.object, .normal, reason: outcome == .created ? "Created" : "Updated",
                    message: "\(outcome == .created ? "Created" : "Updated") \(child.resource.kind) \(child.object.name)")
            }
        }
        for absent in rendering.absent + stalePrePullDaemonSets(rendering, gateway: gateway) {
            if try await applier.remove(absent, ownerUID: uid) {
                await context.recorder.record(gateway.object, .normal, reason: "Deleted", message: "Deleted \(absent.resource.kind) \(absent.name)")
            }
        }
    }

    /// Deletes this gateway's kernel pods (by its instance label only), then releases the finalizer.
    func finalize(_ gateway: JupyterGateway, logger: Logger) async throws -> ReconcileAction {
        guard gateway.object.finalizers.contains(ControllerLabels.gatewayFinalizer) else { return .awaitChange }
        if try await KernelPods.stillDeleting(
            namespace: gateway.namespace, selector: ControllerLabels.kernelPodSelector(gateway: gateway.name), of: gateway.object,
            resource: JupyterResources.gateways, context: context, logger: logger,
            message: { "Deleting \($0.total) kernel pod(s) of this gateway" })
        {
            return .requeue(after: .seconds(1))
        }
        try await Finalizers.remove(
            ControllerLabels.gatewayFinalizer, from: gateway.object, resource: JupyterResources.gateways, client: context.client)
        logger.info("kernel pods gone, finalizer removed")
        return .awaitChange
    }

    /// A spec that cannot be decoded: status Failed, an Event, and no retry until it changes.
    func reportInvalid(_ object: KubeObject, error: any Error) async throws -> ReconcileAction {
        let gateway = JupyterGateway(object: object, spec: JupyterGatewaySpec())
        let status = GatewayStatusBuilder(
            gateway: gateway, rendering: nil, workload: WorkloadState(deployment: nil), kernels: 0, error: error,
            replicaLimit: context.settings.gatewayReplicaLimit
        ).build(previous: object.status)
        try await StatusWriter.write(status, to: object, resource: JupyterResources.gateways, client: context.client)
        await context.recorder.record(object, .warning, reason: "InvalidSpec", message: "\(error)")
        return .awaitChange
    }
}
