import KubernetesAPI
import KubernetesRuntime
import Logging

extension NotebookReconciler {
    /// Removes the notebook's entry from its gateway's users Secret (its token is refused from then on), shuts
    /// its user's kernels on that gateway down (deletes their pods), then releases the finalizer. The
    /// work-directory claim is left alone: it is not owned by the notebook unless the spec says so.
    func finalize(_ notebook: JupyterNotebook, logger: Logger) async throws -> ReconcileAction {
        guard notebook.object.finalizers.contains(ControllerLabels.notebookFinalizer) else { return .awaitChange }
        if let reference = notebook.spec.gateway, try await mayTouchKernels(of: reference, notebook: notebook),
            try await holdsUser(notebook, reference: reference, logger: logger)
        {
            let user = NotebookIdentity.user(of: notebook)
            let selector = ControllerLabels.kernelPodSelector(gateway: reference.name, userHash: NotebookIdentity.userHash(user))
            // The gateway's namespace, and the notebook's, where a gateway it allows may run the user's kernels.
            for namespace in Set([reference.namespace(defaultingTo: notebook.namespace), notebook.namespace]).sorted() {
                if try await KernelPods.stillDeleting(
                    namespace: namespace, selector: selector, of: notebook.object, resource: JupyterResources.notebooks,
                    context: context, logger: logger, message: { "Shutting down \($0.total) kernel(s) of user \(user) in \(namespace)" })
                {
                    return .requeue(after: .seconds(1))
                }
            }
        }
        try await Finalizers.remove(
            ControllerLabels.notebookFinalizer, from: notebook.object, resource: JupyterResources.notebooks, client: context.client)
        logger.info("kernels gone, finalizer removed")
        return .awaitChange
    }

    /// Drops the deleting notebook's entry from a live gateway's users Secret and tells whether the notebook
    /// held its user name there (only then are that user's kernels its own). A deleting notebook keeps its name
    /// reserved until its finalizer goes, so no other notebook takes the name over while its kernels are deleted.
    /// A gateway that is gone or going deletes all its kernels itself; the user's are deleted too.
    func holdsUser(_ notebook: JupyterNotebook, reference: ObjectReference, logger: Logger) async throws -> Bool {
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        guard NotebookIdentity.problem(with: notebook) == nil else { return false }
        guard let object = context.stores.gateways.get(namespace: namespace, name: reference.name), !object.metadata.isBeingDeleted,
            let gateway = try? JupyterGateway(object)
        else { return true }
        let roster = try await UsersSecretSync(context: context).sync(gateway, logger: logger)
        return roster.holders[NotebookIdentity.user(of: notebook)] == ObjectKey(notebook.object)
    }

    /// Whether deleting this notebook may delete kernel pods on the referenced gateway: in the notebook's own
    /// namespace always; in another only while that gateway exists and allows the notebook's namespace.
    func mayTouchKernels(of reference: ObjectReference, notebook: JupyterNotebook) async throws -> Bool {
        let namespace = reference.namespace(defaultingTo: notebook.namespace)
        if namespace == notebook.namespace { return true }
        guard let object = context.stores.gateways.get(namespace: namespace, name: reference.name),
            let gateway = try? JupyterGateway(object)
        else { return false }
        return try await context.consents(gateway, to: notebook.namespace)
    }
}
