import KubernetesAPI

/// Computes a JupyterGateway's `status` from what the reconcile found. Pure.
public struct GatewayStatusBuilder: Sendable {
    /// The gateway.
    public var gateway: JupyterGateway
    /// The rendering (nil when the spec could not be rendered).
    public var rendering: GatewayRendering?
    /// The gateway Deployment's state.
    public var workload: WorkloadState
    /// Kernel pods of the gateway.
    public var kernels: Int
    /// The error that stopped this reconcile, if any.
    public var error: (any Error)?
    /// The most gateway replicas the controller runs (``RenderSettings/gatewayReplicaLimit``).
    public var replicaLimit: Int
    /// The gateway image the controller runs (`--gateway-image`), named when `spec.image` is an Enterprise
    /// Gateway image.
    public var gatewayImage: String = RenderSettings.defaultGatewayImage
    /// Image pre-pulling progress (`nil`: not pre-pulling, or not rendered).
    public var prePull: PrePullProgress?
    /// Kernel pods by state.
    public var kernelStates = KernelPodStates()

    /// Creates a builder.
    /// - Parameters:
    ///   - gateway: The gateway.
    ///   - rendering: Its rendering, if it could be rendered.
    ///   - workload: The gateway Deployment's state.
    ///   - kernels: Kernel pods of the gateway.
    ///   - error: The error that stopped this reconcile, if any.
    ///   - replicaLimit: The most gateway replicas. Default ``RenderSettings/maximumGatewayReplicas``.
    public init(
        gateway: JupyterGateway, rendering: GatewayRendering?, workload: WorkloadState, kernels: Int, error: (any Error)?,
        replicaLimit: Int = RenderSettings.maximumGatewayReplicas
    ) {
        self.gateway = gateway
        self.rendering = rendering
        self.workload = workload
        self.kernels = kernels
        self.error = error
        self.replicaLimit = replicaLimit
    }

    /// The new `status`, keeping transition times of unchanged conditions.
    public func build(previous: KubeJSON?) -> KubeJSON {
        let generation = gateway.generation
        var problems: [(reason: String, message: String)] = []
        if let error {
            problems.append(((error as? ControllerError)?.reason ?? "ReconcileError", "\(error)"))
        }
        if let rendering, !rendering.missingKernelSpecs.isEmpty {
            problems.append(("KernelSpecNotFound", "JupyterKernelSpec not found: " + rendering.missingKernelSpecs.joined(separator: ", ")))
        }
        if let rendering, !rendering.missingTemplates.isEmpty {
            problems.append(("KernelTemplateNotFound", "JupyterKernelTemplate not found: " + rendering.missingTemplates.joined(separator: ", ")))
        }
        if let kernel = rendering?.defaultKernelNotOffered {
            problems.append(("DefaultKernelNotOffered", "defaultKernel \(kernel) is not among the kernels offered"))
        }
        if let rendering, !rendering.refusedKernelSpecs.isEmpty {
            problems.append(("KernelSpecRefused", "refused fields in " + rendering.refusedKernelSpecs.joined(separator: "; ")))
        }
        if let failure = workload.failure { problems.append(("DeploymentFailed", failure)) }

        let ready = workload.isAvailable && error == nil
        let progressing = !workload.isAvailable && workload.failure == nil && error == nil
        var conditions: [Condition] = [
            Condition(
                type: "Ready", status: ready, reason: ready ? "Available" : (workload.exists ? "Unavailable" : "Pending"),
                message: "\(workload.ready)/\(workload.desired) gateway replicas ready"
                    + (workload.exists && workload.desired == 0 ? " (scaled to zero)" : ""),
                observedGeneration: generation),
            Condition(
                type: "Progressing", status: progressing, reason: progressing ? "RollingOut" : "Settled",
                message: progressing ? "waiting for the gateway Deployment to roll out" : "no rollout in progress",
                observedGeneration: generation),
            Condition(
                type: "Degraded", status: !problems.isEmpty, reason: problems.first?.reason ?? "AsExpected",
                message: problems.isEmpty ? "all children reconciled" : problems.map(\.message).joined(separator: "; "),
                observedGeneration: generation),
        ]
        if let refused = rendering?.refusedKernelSpecs, !refused.isEmpty {
            conditions.append(Condition(
                type: "KernelSpecRefused", status: true, reason: "RefusedField",
                message: "not offered, refused fields in " + refused.joined(separator: "; "), observedGeneration: generation))
        }
        if let replicas = gateway.spec.replicas, replicas > replicaLimit {
            conditions.append(Condition(
                type: "ReplicasClamped", status: true, reason: "KernelsNotShared",
                message: "spec.replicas \(replicas) clamped to \(replicaLimit): this controller runs at most \(replicaLimit) gateway "
                    + "replica(s) until replicas share kernels", observedGeneration: generation))
        }
        if let upstream = gateway.spec.enterpriseGatewayImage {
            conditions.append(Condition(
                type: "EnterpriseGatewayImage", status: true, reason: "GatewayImageUsed",
                message: "spec.image \(upstream.prefix(256)) is an Enterprise Gateway image; here spec.image names the elastic-jupyter "
                    + "gateway image (a tag or digest of \(JupyterGatewaySpec.repository(of: gatewayImage))), which serves the same "
                    + "API: \(gatewayImage) runs instead. Remove spec.image, or set the kernel image with spec.kernelImage",
                observedGeneration: generation))
        }
        conditions = conditions.keepingTransitionTimes(from: Condition.list(from: previous))

        let phase: String
        if gateway.object.metadata.isBeingDeleted {
            phase = "Terminating"
        } else if ControllerError.isInvalidSpec(error) || workload.failure != nil {
            phase = "Failed"
        } else if ready {
            phase = "Running"
        } else if workload.exists {
            phase = "Provisioning"
        } else {
            phase = "Pending"
        }
        var status: KubeJSON = [
            "phase": .string(phase),
            "url": .string(rendering?.url ?? GatewayRenderer.url(for: gateway)),
            "replicas": .int(Int64(workload.desired)),
            "readyReplicas": .int(Int64(workload.ready)),
            "kernels": .int(Int64(kernels)),
            "kernelStates": kernelStates.json,
            "conditions": (try? KubeJSON(encoding: conditions)) ?? [],
        ]
        status["observedGeneration"] = .int(generation)
        if let rendering {
            status["kernelSpecs"] = KubeJSON(rendering.kernelSpecNames)
            status["authTokenSecret"] = .string(rendering.authSecretName)
        }
        if let prePull { status["prePull"] = prePull.json }
        return status
    }
}
