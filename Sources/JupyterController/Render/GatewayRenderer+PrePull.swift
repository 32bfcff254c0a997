import ElasticJupyterContract
import KubernetesAPI

/// One pre-pull DaemonSet: a scheduling profile shared by some of the offered kernelspecs, and their images.
public struct PrePullSet: Sendable, Hashable {
    /// The DaemonSet's name: `<gateway>-prepull-<profile hash>`.
    public var name: String
    /// The first 10 hex digits of the profile's hash (also the `elastic-jupyter.io/prepull-profile` label).
    public var profileHash: String
    /// The profile: `nodeSelector`, `affinity.nodeAffinity` and `tolerations` of the kernel pod template (those present).
    public var profile: KubeJSON
    /// Kernelspecs with this profile (sorted).
    public var kernelSpecs: [String]
    /// Their images, sorted and without duplicates: one init container each.
    public var images: [String]
}

extension GatewayRenderer {
    /// `apps/v1` DaemonSets.
    public static let daemonSets = ResourceDescriptor(
        group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true)
    /// `app.kubernetes.io/component` of the pre-pull DaemonSets and their pods.
    public static let prePullComponent = "prepull"
    /// Label naming a pre-pull DaemonSet's profile hash.
    public static let prePullProfileLabel = "elastic-jupyter.io/prepull-profile"
    /// The static no-op program in the gateway image (`images/noop/noop.c`): run from each kernel image, it
    /// makes the kubelet pull that image without running anything of it (works in images without a shell).
    public static let noopProgram = "/usr/local/libexec/elastic-jupyter/noop"
    /// Where the pre-pull pods' emptyDir holding the copied no-op program is mounted.
    public static let prePullToolsPath = "/prepull"
    /// The pod-template fields that decide where a kernel may run: one DaemonSet per distinct combination.
    static let schedulingFields = ["nodeSelector", "affinity", "tolerations"]

    /// The offered kernelspecs grouped by scheduling profile (taken from each rendered kernel pod template, so
    /// any scheduling field a kernelspec or its template puts there counts), each with its images: the kernel
    /// image and any other container image of the template. Kernelspecs run without a pod (local) are left out.
    /// - Parameters:
    ///   - names: The gateway's names.
    ///   - kernelSpecs: The kernelspecs offered.
    /// - Returns: The sets, sorted by name.
    public static func prePullSets(names: GatewayNames, kernelSpecs: [KernelSpecFiles]) -> [PrePullSet] {
        var byHash: [String: PrePullSet] = [:]
        for files in kernelSpecs {
            let ours = files.kernelJSON[path: "metadata", KernelSpecMetadata.section]
            guard ours?[KernelSpecMetadata.provisioner]?.stringValue == KernelSpecMetadata.kubernetesProvisioner,
                let kernelImage = ours?[KernelSpecMetadata.image]?.stringValue, !kernelImage.isEmpty
            else { continue }
            let podSpec = files.podTemplate?["spec"]
            var profile: [String: KubeJSON] = [:]
            for field in schedulingFields {
                guard var value = podSpec?[field], value != .null else { continue }
                // Of the affinity only the node affinity says where a kernel can run (pod affinity is about other pods).
                if field == "affinity" { value = value["nodeAffinity"].map { ["nodeAffinity": $0] } ?? .emptyObject }
                if value.objectValue?.isEmpty != true, value.arrayValue?.isEmpty != true { profile[field] = value }
            }
            var images = [kernelImage]
            let sidecars = Array((podSpec?["containers"]?.arrayValue ?? []).dropFirst()) + (podSpec?["initContainers"]?.arrayValue ?? [])
            images += sidecars.compactMap { $0["image"]?.stringValue }.filter { !$0.isEmpty }
            let hash = String(CanonicalJSON.hash(.object(profile)).prefix(10))
            var set = byHash[hash] ?? PrePullSet(
                name: "\(prePullPrefix(names.gateway))-prepull-\(hash)", profileHash: hash, profile: .object(profile), kernelSpecs: [], images: [])
            set.kernelSpecs = (set.kernelSpecs + [files.name]).sorted()
            set.images = Array(Set(set.images + images)).sorted()
            byHash[hash] = set
        }
        return byHash.values.sorted { $0.name < $1.name }
    }

    /// The gateway's name cut so that `<prefix>-prepull-<hash>` stays a valid object name (at most 253 characters,
    /// not ending in `-` or `.` before the suffix).
    static func prePullPrefix(_ gateway: String) -> String {
        var prefix = Substring(gateway.prefix(200))
        while let last = prefix.last, last == "-" || last == "." { prefix = prefix.dropLast() }
        return String(prefix)
    }

    /// A pre-pull DaemonSet. Its pod: an init container from the gateway image copies the static no-op program
    /// into an emptyDir; one init container per image runs that program (the kubelet pulls the image; nothing of
    /// it runs, no shell needed); the main container is the gateway image's `pause` (sleeps until SIGTERM).
    /// Restricted security context, tiny requests, the profile's scheduling fields.
    func prePullDaemonSet(_ set: PrePullSet) -> DesiredChild {
        var object = factory.make(Self.daemonSets, name: set.name)
        object.labels[ControllerLabels.component] = Self.prePullComponent
        object.labels[Self.prePullProfileLabel] = set.profileHash
        object.annotations["elastic-jupyter.io/prepull-kernelspecs"] = set.kernelSpecs.joined(separator: ",")
        let gatewayImage = input.gateway.spec.effectiveImage(gatewayImage: input.settings.gatewayImage)
        let tools: KubeJSON = ["name": "prepull", "mountPath": .string(Self.prePullToolsPath)]
        var initContainers: [KubeJSON] = [
            Self.prePullContainer(
                name: "install-noop", image: gatewayImage,
                command: ["cp", .string(Self.noopProgram), .string(Self.prePullToolsPath + "/noop")], mounts: [tools])
        ]
        var readOnlyTools = tools
        readOnlyTools["readOnly"] = true
        for (index, image) in set.images.enumerated() {
            initContainers.append(Self.prePullContainer(
                name: "pull-\(index)", image: image, command: [.string(Self.prePullToolsPath + "/noop")], mounts: [readOnlyTools]))
        }
        var pause = Self.prePullContainer(name: "pause", image: gatewayImage, command: nil, mounts: [])
        pause["args"] = ["pause"]
        if let policy = KernelSpecRenderer.nonEmpty(input.gateway.spec.imagePullPolicy) { pause["imagePullPolicy"] = .string(policy) }

        var podLabels = factory.labels
        podLabels[ControllerLabels.component] = Self.prePullComponent
        podLabels[Self.prePullProfileLabel] = set.profileHash
        var podSpec: KubeJSON = [
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
            "terminationGracePeriodSeconds": 5,
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                "seccompProfile": ["type": "RuntimeDefault"],
            ],
            "initContainers": .array(initContainers),
            "containers": [pause],
            "volumes": [["name": "prepull", "emptyDir": ["sizeLimit": "16Mi"]]],
        ]
        for (field, value) in set.profile.objectValue ?? [:] { podSpec[field] = value }
        object.spec = [
            "selector": ["matchLabels": KubeJSON([
                ControllerLabels.component: Self.prePullComponent, ControllerLabels.gateway: names.instanceLabel,
                Self.prePullProfileLabel: set.profileHash,
            ])],
            "updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": "25%"]],
            "template": ["metadata": ["labels": KubeJSON(podLabels)], "spec": podSpec],
        ]
        return DesiredChild(Self.daemonSets, object)
    }

    /// A pre-pull container: restricted security context, tiny requests and limits.
    static func prePullContainer(name: String, image: String, command: KubeJSON?, mounts: [KubeJSON]) -> KubeJSON {
        var container: KubeJSON = [
            "name": .string(name),
            "image": .string(image),
            "securityContext": [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
                "capabilities": ["drop": ["ALL"]], "seccompProfile": ["type": "RuntimeDefault"],
            ],
            "resources": ["requests": ["cpu": "1m", "memory": "8Mi"], "limits": ["cpu": "100m", "memory": "64Mi"]],
        ]
        if let command { container["command"] = command }
        if !mounts.isEmpty { container["volumeMounts"] = .array(mounts) }
        return container
    }
}
