import Foundation
import KubernetesAPI
import Logging

/// What the idle-server check of one reconcile found.
public enum IdleCheck: Sendable, Hashable {
    /// Not looked at: no `cullIdleServerAfter`, the notebook is stopped, or its server is not ready yet.
    case off
    /// The server answered and has not been idle long enough.
    case active(ServerActivity)
    /// The server's activity could not be read (the notebook keeps running).
    case failed(IdleCheckError)
    /// The server was idle too long: the notebook was just stopped.
    case culled
}

extension NotebookReconciler {
    /// When the controller stopped an idle notebook (RFC 3339); removed when the notebook is started again.
    public static let culledAtAnnotation = "elastic-jupyter.io/culled-at"
    /// How long (seconds) it had been idle then.
    public static let culledIdleAnnotation = "elastic-jupyter.io/culled-idle-seconds"

    /// How often a running notebook with `cullIdleServerAfter` is looked at: a quarter of that time, 1 s to 60 s.
    static func idleCheckInterval(cullAfter: Int) -> Duration { .seconds(min(60, max(1, cullAfter / 4))) }

    /// How soon a server whose activity could not be read is asked again (unless something changes first).
    static let failedIdleCheckInterval: Duration = .seconds(30)

    /// The notebook's idle limit in seconds (clamped to the schema's maximum), or `nil` when culling does not apply.
    static func cullAfter(_ notebook: JupyterNotebook) -> Int? {
        guard notebook.spec.stopped != true, let after = notebook.spec.cullIdleServerAfter, after > 0 else { return nil }
        return min(after, JupyterNotebookSpec.maxCullIdleServerAfter)
    }

    /// Asks the notebook's jupyter_server (through its Service's cluster IP, with the notebook's token) how long it
    /// has been idle, and stops the notebook when that is at least `cullIdleServerAfter` (``cull(_:idle:lastActivity:now:logger:)``).
    func checkIdle(_ notebook: JupyterNotebook, now: Date, logger: Logger) async throws -> IdleCheck {
        guard let after = Self.cullAfter(notebook) else { return .off }
        let names = NotebookNames(notebook: notebook.name)
        let workload = WorkloadState(deployment: context.stores.deployments.get(namespace: notebook.namespace, name: names.workload))
        guard workload.ready > 0 else { return .off }
        let service = context.stores.services.get(namespace: notebook.namespace, name: names.workload)
        guard let ip = service?.spec?["clusterIP"]?.stringValue, !ip.isEmpty, ip != "None" else {
            return .failed(.unreachable("the Service \(names.workload) has no cluster IP"))
        }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        let token = try await probeToken(notebook)
        let activity: ServerActivity
        do {
            activity = try await ServerStatusProbe().activity(baseURL: "http://\(host):\(JupyterNotebookSpec.port)", token: token)
        } catch {
            logger.info("idle check failed", metadata: ["reason": "\(error.reason)", "error": "\(error)"])
            return .failed(error)
        }
        let idle = Int(max(0, now.timeIntervalSince(activity.lastActivity)))
        guard idle >= after else { return .active(activity) }
        try await cull(notebook, idle: idle, lastActivity: activity.lastActivity, now: now, logger: logger)
        return .culled
    }

    /// Stops an idle notebook as `stopped: true` does, marking it culled: one merge patch of `spec.stopped` and the
    /// cull annotations, conditional on the version seen (a concurrent change of the user's wins; retried). Started
    /// again by `spec.stopped: false`.
    func cull(_ notebook: JupyterNotebook, idle: Int, lastActivity: Date, now: Date, logger: Logger) async throws {
        var metadata: KubeJSON = [
            "annotations": [Self.culledAtAnnotation: .string(now.formatted(.iso8601)), Self.culledIdleAnnotation: .string(String(idle))]
        ]
        if let version = notebook.object.metadata.resourceVersion { metadata["resourceVersion"] = .string(version) }
        let patch: KubeJSON = ["metadata": metadata, "spec": ["stopped": true]]
        let _: KubeObject = try await context.client.patch(
            JupyterResources.notebooks, name: notebook.name, namespace: notebook.namespace, patch: patch)
        let message = "stopped after \(idle) s without activity (last activity \(lastActivity.formatted(.iso8601)));"
            + " start it again with spec.stopped: false"
        logger.info("notebook culled", metadata: ["idleSeconds": "\(idle)"])
        await context.recorder.record(notebook.object, .normal, reason: "Culled", message: message)
    }

    /// A notebook started again (`stopped` no longer true) loses its cull annotations, so that a later stop by hand
    /// is not reported as a cull.
    func clearCullMark(_ notebook: JupyterNotebook) async throws {
        guard notebook.spec.stopped != true, notebook.object.annotations[Self.culledAtAnnotation] != nil else { return }
        let patch: KubeJSON = ["metadata": ["annotations": [Self.culledAtAnnotation: .null, Self.culledIdleAnnotation: .null]]]
        let _: KubeObject = try await context.client.patch(
            JupyterResources.notebooks, name: notebook.name, namespace: notebook.namespace, patch: patch)
    }

    /// The token jupyter_server accepts: none with auth disabled, the user's Secret's, or the notebook's own.
    func probeToken(_ notebook: JupyterNotebook) async throws -> String? {
        let auth = notebook.spec.auth
        if auth?.mode == "disable" { return nil }
        if let secret = KernelSpecRenderer.nonEmpty(auth?.secretName) {
            return try await context.tokens.read(namespace: notebook.namespace, secret: secret, key: NotebookRenderer.tokenKey)
        }
        return try await notebookToken(notebook)
    }
}
