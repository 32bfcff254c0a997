import KubernetesAPI

/// The allow-list of what custom resources may put on a pod the controller or the gateway creates for them.
///
/// Whoever may write a JupyterKernelSpec, JupyterKernelTemplate or JupyterNotebook must not gain the rights of
/// the controller or the gateway: every field not on the list is refused, by path, and the resource is not
/// rendered. Always refused: `hostPath` volumes, host namespaces, `hostUsers`, privileged or escalating
/// containers, added capabilities, `runAsUser`/`runAsGroup` 0, SELinux and AppArmor overrides, and a
/// local-process kernelspec (its command would run inside the gateway pod).
public struct KernelPodPolicy: Sendable {
    /// The gateway's policy (volume types, Secrets, resource maxima).
    public var policy: KernelPolicy
    /// Pod spec keys a template may set.
    var podKeys: Set<String> = ["containers", "nodeSelector", "affinity", "tolerations", "volumes", "securityContext",
                                "imagePullSecrets", "terminationGracePeriodSeconds"]
    /// Container keys a template may set.
    var containerKeys: Set<String> = ["name", "image", "imagePullPolicy", "resources", "env", "envFrom", "volumeMounts",
                                      "securityContext", "workingDir"]

    /// Creates the policy of one gateway.
    public init(_ policy: KernelPolicy?) { self.policy = policy ?? KernelPolicy() }

    /// The policy for a JupyterNotebook's own pod: its own containers, probes and ports too, the same refusals.
    public static func notebook() -> KernelPodPolicy {
        var result = KernelPodPolicy(KernelPolicy(allowedVolumeTypes: ["emptyDir", "configMap", "persistentVolumeClaim", "secret"],
                                                  allowedSecrets: nil, maxResources: nil))
        result.podKeys.formUnion(["initContainers", "enableServiceLinks", "dnsPolicy", "dnsConfig", "hostname", "subdomain"])
        result.containerKeys.formUnion(["command", "args", "ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle"])
        result.checkResources = false
        result.anySecret = true
        return result
    }

    var checkResources = true
    var anySecret = false

    // MARK: Kernelspecs

    /// Refused fields of a kernelspec and its template; empty when both may be rendered.
    /// - Parameters:
    ///   - kernelSpec: The JupyterKernelSpec.
    ///   - template: Its JupyterKernelTemplate, if it names one.
    public func refusals(kernelSpec: JupyterKernelSpec, template: KubeObject?) -> [String] {
        var refused: [String] = []
        let spec = kernelSpec.spec
        if spec.className?.hasSuffix("LocalProcessProxy") == true {
            refused.append("spec.className (a local-process kernel would run inside the gateway pod)")
        }
        if let reference = spec.template, let namespace = reference.namespace, namespace != kernelSpec.namespace {
            refused.append("spec.template.namespace (templates come from the kernelspec's own namespace)")
        }
        for (index, entry) in (spec.env ?? []).enumerated() {
            refused += env(entry, path: "spec.env[\(index)]")
        }
        for entry in spec.cull?.rangedFields ?? [] {
            if let value = entry.value, !entry.range.contains(value) {
                refused.append("spec.cull.\(entry.field) (between \(entry.range.lowerBound) and \(entry.range.upperBound))")
            }
        }
        refused += profileRefusals(spec)
        if let template {
            refused += pod(template[path: "spec", "template"] ?? .emptyObject, path: "template spec.template")
        }
        return refused
    }

    // MARK: Pods

    /// Refused fields of a pod template (`{metadata, spec}`).
    public func pod(_ template: KubeJSON, path: String) -> [String] {
        var refused: [String] = []
        for (key, value) in template[path: "metadata", "annotations"]?.objectValue ?? [:] where Self.isSecurityAnnotation(key) {
            _ = value
            refused.append("\(path).metadata.annotations[\(key)]")
        }
        let spec = template["spec"] ?? .emptyObject
        let specPath = "\(path).spec"
        for (key, value) in (spec.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            let here = "\(specPath).\(key)"
            guard podKeys.contains(key) else {
                refused.append(here)
                continue
            }
            switch key {
            case "containers", "initContainers":
                for (index, container) in (value.arrayValue ?? []).enumerated() {
                    refused += self.container(container, path: "\(here)[\(index)]")
                }
            case "volumes":
                for (index, volume) in (value.arrayValue ?? []).enumerated() {
                    refused += self.volume(volume, path: "\(here)[\(index)]")
                }
            case "securityContext":
                refused += podSecurity(value, path: here)
            case "imagePullSecrets":
                for (index, reference) in (value.arrayValue ?? []).enumerated() where !secretAllowed(reference["name"]?.stringValue) {
                    refused.append("\(here)[\(index)].name")
                }
            default:
                break
            }
        }
        return refused
    }

    func container(_ container: KubeJSON, path: String) -> [String] {
        var refused: [String] = []
        for (key, value) in (container.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            let here = "\(path).\(key)"
            guard containerKeys.contains(key) else {
                refused.append(here)
                continue
            }
            switch key {
            case "env":
                for (index, entry) in (value.arrayValue ?? []).enumerated() { refused += env(entry, path: "\(here)[\(index)]") }
            case "envFrom":
                for (index, source) in (value.arrayValue ?? []).enumerated() {
                    if let secret = source["secretRef"], !secretAllowed(secret["name"]?.stringValue) {
                        refused.append("\(here)[\(index)].secretRef")
                    }
                }
            case "securityContext":
                refused += containerSecurity(value, path: here)
            case "resources" where checkResources:
                refused += resources(value, path: here)
            default:
                break
            }
        }
        return refused
    }

    func env(_ entry: KubeJSON, path: String) -> [String] {
        let name = entry["name"]?.stringValue ?? ""
        if name == "NVIDIA_VISIBLE_DEVICES" {
            return ["\(path) (\(name): the device plugin sets it)"]
        }
        guard let source = entry["valueFrom"] else { return [] }
        if let secret = source["secretKeyRef"] {
            return secretAllowed(secret["name"]?.stringValue) ? [] : ["\(path).valueFrom.secretKeyRef"]
        }
        if source["configMapKeyRef"] != nil || source["fieldRef"] != nil || source["resourceFieldRef"] != nil { return [] }
        return ["\(path).valueFrom"]
    }

    func volume(_ volume: KubeJSON, path: String) -> [String] {
        let allowed = Set(policy.allowedVolumeTypes ?? KernelPolicy.defaultVolumeTypes)
        var refused: [String] = []
        for (key, value) in (volume.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) where key != "name" {
            if key == "hostPath" || !allowed.contains(key) {
                refused.append("\(path).\(key)")
            } else if key == "secret", !secretAllowed(value["secretName"]?.stringValue) {
                refused.append("\(path).secret.secretName")
            }
        }
        return refused
    }

    func podSecurity(_ context: KubeJSON, path: String) -> [String] {
        var refused: [String] = []
        for (key, value) in (context.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            switch key {
            case "runAsUser", "runAsGroup", "fsGroup":
                if value.intValue == 0 { refused.append("\(path).\(key)") }
            case "runAsNonRoot":
                if value.boolValue == false { refused.append("\(path).\(key)") }
            case "supplementalGroups":
                if (value.arrayValue ?? []).contains(where: { $0.intValue == 0 }) { refused.append("\(path).\(key)") }
            case "seccompProfile":
                if value["type"]?.stringValue != "RuntimeDefault" { refused.append("\(path).\(key)") }
            default:
                refused.append("\(path).\(key)")
            }
        }
        return refused
    }

    func containerSecurity(_ context: KubeJSON, path: String) -> [String] {
        var refused: [String] = []
        for (key, value) in (context.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            switch key {
            case "runAsUser", "runAsGroup":
                if value.intValue == 0 { refused.append("\(path).\(key)") }
            case "runAsNonRoot":
                if value.boolValue == false { refused.append("\(path).\(key)") }
            case "allowPrivilegeEscalation", "privileged":
                if value.boolValue != false { refused.append("\(path).\(key)") }
            case "readOnlyRootFilesystem":
                break
            case "capabilities":
                if !(value["add"]?.arrayValue ?? []).isEmpty { refused.append("\(path).capabilities.add") }
            case "seccompProfile":
                if value["type"]?.stringValue != "RuntimeDefault" { refused.append("\(path).\(key)") }
            default:
                refused.append("\(path).\(key)")
            }
        }
        return refused
    }

    func resources(_ requirements: KubeJSON, path: String) -> [String] {
        let maxima = policy.maxResources ?? KernelPolicy.defaultMaxResources
        var refused: [String] = []
        for part in ["requests", "limits"] {
            for (name, amount) in (requirements[part]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                let text = amount.stringValue ?? amount.intValue.map(String.init) ?? ""
                guard let maximum = maxima[name].flatMap({ Quantity.value($0.description) }),
                    let value = Quantity.value(text), value <= maximum
                else {
                    refused.append("\(path).\(part).\(name) (above the gateway's kernelPolicy.maxResources)")
                    continue
                }
            }
        }
        return refused
    }

    func secretAllowed(_ name: String?) -> Bool {
        guard let name else { return false }
        return anySecret || (policy.allowedSecrets ?? []).contains(name)
    }

    /// Annotations that change a pod's confinement (AppArmor, seccomp).
    static func isSecurityAnnotation(_ key: String) -> Bool {
        key.hasPrefix("container.apparmor.security.beta.kubernetes.io/") || key.hasPrefix("seccomp.security.alpha.kubernetes.io/")
            || key.hasPrefix("container.seccomp.security.alpha.kubernetes.io/")
    }
}
