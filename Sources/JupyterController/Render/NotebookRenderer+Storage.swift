import KubernetesAPI

/// The work directory of a notebook, with defaults applied.
struct NotebookStorage: Sendable, Hashable {
    /// The claim mounted.
    var claimName: String
    /// Whether the controller creates the claim (`false` for an existing one).
    var generated: Bool
    /// Mount path in the JupyterLab container.
    var mountPath: String
    /// Requested size.
    var size: String
    /// Storage class.
    var storageClassName: String?
    /// Access modes.
    var accessModes: [String]
    /// Whether the claim goes with the notebook.
    var deleteWithNotebook: Bool

    /// Whether only one node may mount the claim (`ReadWriteOnce`, `ReadWriteOncePod`): anything but
    /// `ReadWriteMany`, so kernels mounting it must run on the notebook pod's node.
    var singleNode: Bool { !accessModes.contains("ReadWriteMany") }
}

extension NotebookRenderer {
    /// The resolved storage; `nil` when disabled.
    var storage: NotebookStorage? {
        let spec = input.notebook.spec.storage ?? JupyterNotebookSpec.Storage()
        guard spec.enabled ?? true else { return nil }
        let existing = KernelSpecRenderer.nonEmpty(spec.existingClaim)
        return NotebookStorage(
            claimName: existing ?? names.claim, generated: existing == nil,
            mountPath: KernelSpecRenderer.nonEmpty(spec.mountPath) ?? JupyterNotebookSpec.defaultMountPath,
            size: (spec.size ?? input.notebook.spec.storageSize)?.description ?? JupyterNotebookSpec.defaultStorageSize,
            storageClassName: KernelSpecRenderer.nonEmpty(spec.storageClassName),
            accessModes: (spec.accessModes?.isEmpty ?? true) ? ["ReadWriteOnce"] : spec.accessModes!,
            deleteWithNotebook: spec.reclaimPolicy == "Delete")
    }

    /// The generated claim. It is not owned by the notebook (the user's data survives it) unless the
    /// reclaim policy is `Delete`; its spec is never changed after creation.
    func claim(_ storage: NotebookStorage?) -> DesiredChild? {
        guard let storage, storage.generated else { return nil }
        var object = factory.make(.persistentVolumeClaims, name: storage.claimName, owned: storage.deleteWithNotebook)
        var spec: KubeJSON = [
            "accessModes": KubeJSON(storage.accessModes),
            "resources": ["requests": ["storage": .string(storage.size)]],
        ]
        if let storageClass = storage.storageClassName { spec["storageClassName"] = .string(storageClass) }
        object.spec = spec
        return DesiredChild(.persistentVolumeClaims, object, policy: .metadataOnly)
    }
}
