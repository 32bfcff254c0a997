import KubernetesAPI

/// Whether a notebook's gateway is usable, and why not.
public struct GatewayCheck: Sendable, Hashable {
    /// Whether the notebook can be wired to its gateway (or needs none).
    public var usable: Bool
    /// Whether the gateway reports Ready (true when the notebook has no gateway).
    public var ready: Bool
    /// `CamelCase` reason.
    public var reason: String
    /// Details.
    public var message: String

    /// Creates a check.
    public init(usable: Bool, ready: Bool, reason: String, message: String) {
        self.usable = usable
        self.ready = ready
        self.reason = reason
        self.message = message
    }

    /// The notebook names no gateway: kernels run in its own pod.
    public static let none = GatewayCheck(usable: true, ready: true, reason: "NoGateway", message: "kernels run in the notebook pod")
}

/// Computes a JupyterNotebook's `status` from what the reconcile found. Pure.
public struct NotebookStatusBuilder: Sendable {
    /// The notebook.
    public var notebook: JupyterNotebook
    /// The rendering (nil when nothing was rendered, e.g. the gateway is missing).
    public var rendering: NotebookRendering?
    /// The gateway check.
    public var gateway: GatewayCheck
    /// The gateway URL, when known.
    public var gatewayURL: String?
    /// The notebook Deployment's state.
    public var workload: WorkloadState
    /// Kernel pods of the notebook.
    public var kernels: Int
    /// The error that stopped this reconcile, if any.
    public var error: (any Error)?
    /// Why the notebook's `template` was refused (the fields), if it was.
    public var templateRefusal: String?
    /// Why the notebook's claim stays Pending, if it does.
    public var claimProblem: ClaimProblem?
    /// What the idle-server check found.
    public var idle: IdleCheck

    /// Creates a builder.
    public init(
        notebook: JupyterNotebook, rendering: NotebookRendering?, gateway: GatewayCheck, gatewayURL: String?,
        workload: WorkloadState, kernels: Int, error: (any Error)?, claimProblem: ClaimProblem? = nil, idle: IdleCheck = .off
    ) {
        self.idle = idle
        self.claimProblem = claimProblem
        self.notebook = notebook
        self.rendering = rendering
        self.gateway = gateway
        self.gatewayURL = gatewayURL
        self.workload = workload
        self.kernels = kernels
        self.error = error
    }

    /// The new `status`, keeping transition times of unchanged conditions.
    public func build(previous: KubeJSON?) -> KubeJSON {
        let generation = notebook.generation
        var problems: [(reason: String, message: String)] = []
        if let error { problems.append(((error as? ControllerError)?.reason ?? "ReconcileError", "\(error)")) }
        if let failure = workload.failure { problems.append(("DeploymentFailed", failure)) }
        let stopped = notebook.spec.stopped == true
        let ready = workload.isAvailable && error == nil && gateway.usable && !stopped
        var conditions: [Condition] = [
            Condition(
                type: "Ready", status: ready,
                reason: ready ? "Available" : stopped ? "Stopped" : (gateway.usable ? (workload.exists ? "Unavailable" : "Pending") : gateway.reason),
                message: gateway.usable ? "\(workload.ready)/\(max(workload.desired, 1)) JupyterLab replicas ready" : gateway.message,
                observedGeneration: generation),
            Condition(
                type: "GatewayReady", status: gateway.ready, reason: gateway.reason, message: gateway.message,
                observedGeneration: generation),
            Condition(
                type: "Degraded", status: !problems.isEmpty, reason: problems.first?.reason ?? "AsExpected",
                message: problems.isEmpty ? "all children reconciled" : problems.map(\.message).joined(separator: "; "),
                observedGeneration: generation),
        ]
        // Refusals the user must act on get a condition of their own.
        if gateway.reason == "GatewayNotAllowed" || gateway.reason == "UserConflict" {
            conditions.append(Condition(
                type: gateway.reason, status: true, reason: gateway.reason, message: gateway.message, observedGeneration: generation))
        }
        if let claimProblem {
            conditions.append(Condition(
                type: claimProblem.conditionType, status: true, reason: claimProblem.reason, message: claimProblem.message,
                observedGeneration: generation))
        }
        conditions += idleConditions(generation: generation)
        if let refusal = templateRefusal {
            conditions.append(Condition(
                type: "TemplateRefused", status: true, reason: "RefusedField", message: refusal, observedGeneration: generation))
        }
        conditions = conditions.keepingTransitionTimes(from: Condition.list(from: previous))

        let phase: String
        if notebook.object.metadata.isBeingDeleted {
            phase = "Terminating"
        } else if ControllerError.isInvalidSpec(error) || workload.failure != nil {
            phase = "Failed"
        } else if stopped {
            phase = workload.ready > 0 ? "Stopping" : "Stopped"
        } else if !gateway.usable {
            phase = "Pending"
        } else if ready {
            phase = "Running"
        } else {
            phase = "Provisioning"
        }
        var status: KubeJSON = [
            "observedGeneration": .int(generation),
            "phase": .string(phase),
            "url": .string(NotebookRenderer.url(for: notebook)),
            "readyReplicas": .int(Int64(workload.ready)),
            "kernels": .int(Int64(kernels)),
            "conditions": (try? KubeJSON(encoding: conditions)) ?? [],
        ]
        if let gatewayURL { status["gatewayURL"] = .string(gatewayURL) }
        status["stopped"] = .bool(stopped)
        // The annotation is the user's to edit: only a time goes into the status (its schema says date-time).
        if stopped, let culledAt = notebook.object.annotations[NotebookReconciler.culledAtAnnotation],
           culledAt.count <= 64, ServerActivity.parseTime(culledAt) != nil {
            status["culledAt"] = .string(culledAt)
        }
        if case .active(let activity) = idle {
            status["lastActivity"] = .string(activity.lastActivity.formatted(.iso8601))
        } else if let last = previous?["lastActivity"] {
            status["lastActivity"] = last
        }
        if let pvc = rendering?.pvcName ?? previous?["pvcName"]?.stringValue { status["pvcName"] = .string(pvc) }
        return status
    }
}

extension NotebookStatusBuilder {
    /// `Culled` while a notebook stopped by the idle cull stays stopped (why, and how to start it again);
    /// `IdleCheckFailed` while its server's activity cannot be read (it keeps running).
    func idleConditions(generation: Int64) -> [Condition] {
        var conditions: [Condition] = []
        let annotations = notebook.object.annotations
        if notebook.spec.stopped == true, let culledAt = annotations[NotebookReconciler.culledAtAnnotation] {
            let idle = annotations[NotebookReconciler.culledIdleAnnotation].flatMap(Int.init).map { "\($0) s" } ?? "too long"
            conditions.append(Condition(
                type: "Culled", status: true, reason: "IdleServer",
                message: "stopped at \(culledAt.prefix(64)) after \(idle) without activity; start it again with spec.stopped: false",
                observedGeneration: generation))
        }
        if case .failed(let error) = idle {
            conditions.append(Condition(
                type: "IdleCheckFailed", status: true, reason: error.reason, message: "\(error)", observedGeneration: generation))
        }
        return conditions
    }
}
