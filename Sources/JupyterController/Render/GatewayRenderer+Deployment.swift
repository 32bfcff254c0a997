import KubernetesAPI

extension GatewayRenderer {
    /// The gateway Deployment: our gateway, configured from the spec through environment variables only
    /// (the token comes from its Secret, never from args).
    func deployment(kernelSpecs: [KernelSpecFiles]) -> DesiredChild {
        let spec = input.gateway.spec
        var object = factory.make(.deployments, name: names.workload)
        var podLabels = factory.labels
        podLabels[ControllerLabels.component] = "gateway"

        var container: KubeJSON = [
            "name": "gateway",
            "image": .string(spec.effectiveImage(gatewayImage: input.settings.gatewayImage)),
            "args": ["gateway"],
            "ports": [
                ["name": "http", "containerPort": .int(Int64(JupyterGatewaySpec.port)), "protocol": "TCP"],
                ["name": "metrics", "containerPort": .int(Int64(JupyterGatewaySpec.metricsPort)), "protocol": "TCP"],
            ],
            "env": .array(environment(kernelSpecs: kernelSpecs)),
            "readinessProbe": probe(path: "/readyz", period: 5, failures: 3),
            "livenessProbe": probe(path: "/healthz", period: 10, failures: 6),
            "securityContext": [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
                "capabilities": ["drop": ["ALL"]],
            ],
            "volumeMounts": .array(volumeMounts()),
        ]
        if let policy = KernelSpecRenderer.nonEmpty(spec.imagePullPolicy) { container["imagePullPolicy"] = .string(policy) }
        if let resources = spec.resources, resources.objectValue?.isEmpty == false { container["resources"] = resources }

        let podSpec: KubeJSON = [
            "serviceAccountName": .string(names.serviceAccount),
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                "seccompProfile": ["type": "RuntimeDefault"],
            ],
            // Covers the gateway's bounded drain on SIGTERM (stop being ready, wait for replies to requests
            // already sent to kernels, close WebSockets with 1001) with room to spare.
            "terminationGracePeriodSeconds": .int(Self.terminationGracePeriod),
            "enableServiceLinks": false,
            "containers": [container],
            "volumes": .array(volumes(kernelSpecs: kernelSpecs)),
        ]
        // Prometheus finds the metrics listener through the usual annotations.
        var podAnnotations: [String: String] = [
            "prometheus.io/scrape": "true", "prometheus.io/port": String(JupyterGatewaySpec.metricsPort), "prometheus.io/path": "/metrics",
        ]
        if let hash = configHash { podAnnotations[ControllerLabels.configHashAnnotation] = hash }
        let templateMetadata: KubeJSON = ["labels": KubeJSON(podLabels), "annotations": KubeJSON(podAnnotations)]
        object.spec = [
            // Clamped to RenderSettings.gatewayReplicaLimit (condition ReplicasClamped).
            "replicas": .int(Int64(replicas)),
            "revisionHistoryLimit": 5,
            "selector": ["matchLabels": KubeJSON(podSelector)],
            // A new replica is ready before an old one stops, so the Service always has a ready gateway.
            "strategy": ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 0, "maxSurge": 1]],
            "template": ["metadata": templateMetadata, "spec": podSpec],
        ]
        return DesiredChild(.deployments, object)
    }

    /// A hash of the token, so that a new token rolls the gateway pods (they read it at start).
    var configHash: String? {
        input.authToken.map { CanonicalJSON.hash(text: $0) }
    }

    /// The gateway's environment, in a stable order.
    func environment(kernelSpecs: [KernelSpecFiles]) -> [KubeJSON] {
        let spec = input.gateway.spec
        let kernelImage = KernelSpecRenderer.nonEmpty(spec.kernelImage) ?? input.settings.kernelImage
        var env: [KubeJSON] = [
            .env("EG_IP", "0.0.0.0"),
            .env("EG_PORT", String(JupyterGatewaySpec.port)),
            .env("EJ_METRICS_PORT", String(JupyterGatewaySpec.metricsPort)),
            .env("EG_NAME", names.instanceLabel),
            .env("EG_NAMESPACE", fieldPath: "metadata.namespace"),
            .env("EG_SHARED_NAMESPACE", "true"),
            .env("EG_DEFAULT_KERNEL_NAME", KernelSpecRenderer.nonEmpty(spec.defaultKernel) ?? JupyterGatewaySpec.builtInKernel),
            .env("EG_ALLOWED_KERNELS", allowedKernels.joined(separator: ",")),
            .env("EJ_KERNELSPECS_DIRS", Self.kernelSpecsPath),
            .env("EG_KERNEL_IMAGE", kernelImage),
            .env("EJ_KERNEL_SERVICE_ACCOUNT", names.kernelServiceAccount),
            .env("EG_CULL_IDLE_TIMEOUT", String(spec.cullIdleTimeout ?? JupyterGatewaySpec.defaultCullIdleTimeout)),
        ]
        if let interval = spec.cullInterval { env.append(.env("EG_CULL_INTERVAL", String(interval))) }
        env.append(.env("EG_CULL_CONNECTED", String(spec.cullConnected ?? false)))
        env.append(.env("EJ_CULL_BUSY", String(spec.cullBusy ?? false)))
        if let maxAge = spec.cullMaxAge, maxAge > 0 { env.append(.env("EJ_CULL_MAX_AGE", String(maxAge))) }
        env.append(.env("EG_KERNEL_LAUNCH_TIMEOUT", String(spec.kernelLaunchTimeout ?? JupyterGatewaySpec.defaultLaunchTimeout)))
        if let limit = spec.maxKernels { env.append(.env("EG_MAX_KERNELS", String(limit))) }
        if let limit = spec.maxKernelsPerUser { env.append(.env("EG_MAX_KERNELS_PER_USER", String(limit))) }
        env.append(.env("EG_LOG_LEVEL", KernelSpecRenderer.nonEmpty(spec.logLevel) ?? "INFO"))
        let auth = authSecretReference
        env.append(.env("EG_AUTH_TOKEN", secret: auth.name, key: auth.key))
        // The notebooks' identities (UsersSecretSync), watched through the API so a removed user is refused at once.
        env.append(.env("EJ_USERS_SECRET", names.usersSecret))
        if spec.tls != nil {
            env.append(.env("EG_CERTFILE", Self.tlsPath + "/tls.crt"))
            env.append(.env("EG_KEYFILE", Self.tlsPath + "/tls.key"))
        }
        return env
    }

    /// The kernelspecs the gateway may offer: those listed (even while missing, so that a gateway whose
    /// kernelspecs do not exist yet never falls back to every kernelspec of its image), else the built-in one.
    var allowedKernels: [String] {
        let listed = input.gateway.spec.kernels ?? []
        return listed.isEmpty ? [JupyterGatewaySpec.builtInKernel] : Array(Set(listed)).sorted()
    }

    func probe(path: String, period: Int64, failures: Int64) -> KubeJSON {
        [
            "httpGet": ["path": .string(path), "port": "http", "scheme": input.gateway.spec.tls == nil ? "HTTP" : "HTTPS"],
            "periodSeconds": .int(period), "failureThreshold": .int(failures), "timeoutSeconds": 2,
        ]
    }

    func volumeMounts() -> [KubeJSON] {
        var mounts: [KubeJSON] = [
            ["name": "tmp", "mountPath": "/tmp"],
            ["name": "kernelspecs", "mountPath": .string(Self.kernelSpecsPath), "readOnly": true],
        ]
        if input.gateway.spec.tls != nil {
            mounts.append(["name": "tls", "mountPath": .string(Self.tlsPath), "readOnly": true])
        }
        return mounts
    }

    /// The kernelspec ConfigMap is laid out as one directory per kernelspec; the kubelet refreshes its
    /// content in place, and the gateway re-reads it.
    func volumes(kernelSpecs: [KernelSpecFiles]) -> [KubeJSON] {
        var volumes: [KubeJSON] = [
            ["name": "tmp", "emptyDir": .emptyObject],
            [
                "name": "kernelspecs",
                "configMap": [
                    "name": .string(names.kernelSpecConfigMap),
                    "items": .array(KernelSpecRenderer.configMapLayout(kernelSpecs).items),
                ],
            ],
        ]
        if let tls = input.gateway.spec.tls {
            volumes.append(["name": "tls", "secret": ["secretName": .string(tls.secretName), "defaultMode": 0o440]])
        }
        return volumes
    }
}
