import ElasticJupyterContract
import KubernetesAPI

extension KernelWorkspace {
    /// The workspace a kernel pod mounts, read back from the pod the gateway rendered (for a relaunch after an
    /// adoption): the `workspace` volume's claim, its mount in the first container, the labels of a required pod
    /// affinity (a ReadWriteOnce claim); with the notebook's path
    /// as far as the container's working directory tells (a directory under the mount). Nil when the pod mounts
    /// no per-user workspace (the gateway-wide claim of `--workspace-claim` is rendered again from the settings).
    static func mounted(in pod: KubeObject) -> (KernelWorkspace, String?)? {
        guard let spec = pod.spec,
              let volume = spec["volumes"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "workspace" }),
              let claim = volume["persistentVolumeClaim"]?["claimName"]?.stringValue,
              let container = spec["containers"]?.arrayValue?.first,
              let mount = container["volumeMounts"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "workspace" }),
              let mountPath = mount["mountPath"]?.stringValue
        else { return nil }
        let affinity = spec["affinity"]?["podAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?.arrayValue?.first
        let labels = affinity?["labelSelector"]?["matchLabels"]?.objectValue?.compactMapValues { $0.stringValue }
        // The gateway-wide claim is told apart by the annotation a per-user workspace gets.
        guard pod.metadata.annotations[KernelPodLabels.workspaceAnnotation] == claim else { return nil }
        let workspace = KernelWorkspace(claim: claim, mountPath: mountPath, notebookPodLabels: labels, subPath: mount["subPath"]?.stringValue)
        var notebookPath: String?
        if let workingDir = container["workingDir"]?.stringValue, workingDir.hasPrefix(mountPath + "/") {
            notebookPath = String(workingDir.dropFirst(mountPath.count + 1)) + "/"
        }
        return (workspace, notebookPath)
    }
}
