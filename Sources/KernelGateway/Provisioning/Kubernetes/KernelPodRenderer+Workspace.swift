import KubernetesAPI

extension KernelPodRenderer {
    /// What a per-user workspace adds to a kernel pod, or why it was left out.
    struct WorkspacePlan {
        var volume: KubeJSON?
        var mount: KubeJSON?
        var workingDirectory: String?
        var affinity: KubeJSON?
        /// Said in the start log when the workspace could not be mounted.
        var leftOut: String?
    }

    /// Plans the user's workspace for a pod whose spec (after the template) is `podSpec`. A ReadWriteOnce claim pins
    /// the pod to the notebook server's node; a pod that is already pinned elsewhere by its kernelspec (a node
    /// selector or affinity, or GPUs) could then never be scheduled, so it starts without the workspace instead.
    static func plan(workspace: KernelWorkspace, podSpec: [String: KubeJSON], requestsGPUs: Bool, notebookPath: String?,
                     requestedDirectory: String? = nil) -> WorkspacePlan {
        if let labels = workspace.notebookPodLabels {
            let pinnedElsewhere = podSpec["nodeSelector"]?.objectValue?.isEmpty == false || podSpec["affinity"] != nil
                || podSpec["nodeName"] != nil || requestsGPUs
            if pinnedElsewhere {
                return WorkspacePlan(leftOut: "the workspace claim \(workspace.claim) is ReadWriteOnce and this kernelspec "
                    + "runs on other nodes than the notebook server: the kernel starts without it")
            }
            let affinity: KubeJSON = ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": [[
                "labelSelector": ["matchLabels": KubeJSON(labels)],
                "topologyKey": "kubernetes.io/hostname",
            ]]]]
            return WorkspacePlan(volume: volume(workspace), mount: mount(workspace),
                                 workingDirectory: workspace.workingDirectory(notebookPath: notebookPath, requested: requestedDirectory), affinity: affinity)
        }
        return WorkspacePlan(volume: volume(workspace), mount: mount(workspace),
                             workingDirectory: workspace.workingDirectory(notebookPath: notebookPath, requested: requestedDirectory))
    }

    private static func volume(_ workspace: KernelWorkspace) -> KubeJSON {
        ["name": "workspace", "persistentVolumeClaim": ["claimName": .string(workspace.claim)]]
    }

    private static func mount(_ workspace: KernelWorkspace) -> KubeJSON {
        var mount: KubeJSON = ["name": "workspace", "mountPath": .string(workspace.mountPath)]
        if let subPath = workspace.subPath { mount["subPath"] = .string(subPath) }
        return mount
    }
}
