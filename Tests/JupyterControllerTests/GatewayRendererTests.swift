import Foundation
import JupyterController
import KubernetesAPI
import Testing

@Suite struct GatewayRendererTests {
    func render(_ gateway: JupyterGateway, kernelSpecs: [String: JupyterKernelSpec] = [:], templates: [ObjectKey: KubeObject] = [:])
        -> GatewayRendering
    {
        GatewayRenderer(GatewayRenderInput(
            gateway: gateway, kernelSpecs: kernelSpecs, kernelTemplates: templates, authToken: "secret-token",
            settings: RenderSettings(gatewayImage: "gw:1", notebookImage: "nb:1", kernelImage: "kernel:1"))).render()
    }

    @Test func seedSampleRendersEveryChildOwnedByTheGateway() throws {
        let rendering = render(try Fixtures.gateway())
        let names = Set(rendering.children.filter { $0.resource.kind != "DaemonSet" }.map { "\($0.resource.kind)/\($0.object.name)" })
        // Pre-pulling is on by default: one DaemonSet for the built-in kernelspec (GatewayPrePullTests).
        #expect(rendering.children.filter { $0.resource.kind == "DaemonSet" }.count == 1)
        #expect(names == [
            "ServiceAccount/jupytergateway-sample", "ServiceAccount/jupytergateway-sample-kernel", "Role/jupytergateway-sample",
            "RoleBinding/jupytergateway-sample", "NetworkPolicy/jupytergateway-sample-kernels",
            "ConfigMap/jupytergateway-sample-kernelspecs", "Secret/jupytergateway-sample-auth",
            "Deployment/jupytergateway-sample", "Service/jupytergateway-sample",
        ])
        for child in rendering.children {
            #expect(child.object.ownerReferences.count == 1)
            #expect(child.object.ownerReferences.first?.controller == true)
            #expect(child.object.ownerReferences.first?.uid == "uid-jupytergateway-sample")
            #expect(child.object.labels["app.kubernetes.io/managed-by"] == "elastic-jupyter-controller")
        }
        // No Ingress asked for, and one replica needs no PodDisruptionBudget.
        #expect(Set(rendering.absent.map { "\($0.resource.kind)/\($0.name)" }) == [
            "Ingress/jupytergateway-sample", "PodDisruptionBudget/jupytergateway-sample",
        ])
        #expect(rendering.url == "http://jupytergateway-sample.default:8888")
        #expect(rendering.kernelSpecNames == ["python_kubernetes"])
        let data = rendering.children.child("ConfigMap", "jupytergateway-sample-kernelspecs")?.data?.stringMapValue ?? [:]
        #expect(Set(data.keys) == ["python_kubernetes.kernel.json", "python_kubernetes.pod.yaml"])
        #expect(data["python_kubernetes.kernel.json"]?.contains("\"image_name\" : \"kernel:1\"") == true)
    }

    @Test func deploymentRunsOurGatewayConfiguredByEnvironment() throws {
        let deployment = try #require(render(try Fixtures.gateway()).children.child("Deployment", "jupytergateway-sample"))
        let env = deployment.containerEnv
        #expect(env["EG_CULL_IDLE_TIMEOUT"]?["value"] == "3600")
        #expect(env["EG_NAME"]?["value"] == "jupytergateway-sample")
        #expect(env["EG_DEFAULT_KERNEL_NAME"]?["value"] == "python_kubernetes")
        #expect(env["EG_ALLOWED_KERNELS"]?["value"] == "python_kubernetes")
        #expect(env["EG_LOG_LEVEL"]?["value"] == "INFO")
        #expect(env["EG_CULL_INTERVAL"] == nil)
        #expect(env["EG_AUTH_TOKEN"]?[path: "valueFrom", "secretKeyRef"] == ["name": "jupytergateway-sample-auth", "key": "token"])
        #expect(env["EG_NAMESPACE"]?[path: "valueFrom", "fieldRef", "fieldPath"] == "metadata.namespace")
        let container = try #require(deployment[path: "spec", "template", "spec", "containers"]?[0])
        #expect(container["image"] == "gw:1")
        #expect(container["args"] == ["gateway"])
        #expect(container[path: "resources", "limits", "cpu"] == "500m")
        #expect(!CanonicalJSON.text(deployment.json).contains("secret-token"), "the token never appears in the pod spec")
        #expect(deployment[path: "spec", "selector", "matchLabels", "app.kubernetes.io/component"] == "gateway")
        #expect(deployment[path: "spec", "replicas"] == 1)
    }

    @Test func everySpecFieldReachesTheGateway() throws {
        let gateway = try Fixtures.gateway("gw", spec: [
            "cullIdleTimeout": 120, "cullInterval": 15, "cullConnected": true, "cullBusy": true, "cullMaxAge": 28800, "logLevel": "DEBUG",
            "defaultKernel": "python_kubernetes", "replicas": 3, "kernelLaunchTimeout": 300, "maxKernels": 10,
            "maxKernelsPerUser": 2, "image": "custom/gateway:2", "kernelImage": "custom/kernel:3",
            "service": ["type": "LoadBalancer", "annotations": ["a": "b"]],
            "tls": ["secretName": "gw-tls"], "ingress": ["host": "k.example.com", "tlsSecretName": "k-tls"],
            "authTokenSecret": ["name": "given", "key": "pw"],
        ])
        let rendering = render(gateway)
        let deployment = try #require(rendering.children.child("Deployment", "gw"))
        let env = deployment.containerEnv
        for (name, value) in [
            ("EG_CULL_IDLE_TIMEOUT", "120"), ("EG_CULL_INTERVAL", "15"), ("EG_CULL_CONNECTED", "true"), ("EJ_CULL_BUSY", "true"),
            ("EJ_CULL_MAX_AGE", "28800"), ("EG_LOG_LEVEL", "DEBUG"), ("EG_KERNEL_LAUNCH_TIMEOUT", "300"), ("EG_MAX_KERNELS", "10"),
            ("EG_MAX_KERNELS_PER_USER", "2"), ("EG_KERNEL_IMAGE", "custom/kernel:3"),
            ("EG_CERTFILE", "/etc/elastic-jupyter/tls/tls.crt"), ("EG_KEYFILE", "/etc/elastic-jupyter/tls/tls.key"),
        ] {
            #expect(env[name]?["value"] == .string(value), "\(name)")
        }
        #expect(env["EG_AUTH_TOKEN"]?[path: "valueFrom", "secretKeyRef"] == ["name": "given", "key": "pw"])
        #expect(rendering.children.child("Secret", "gw-auth") == nil, "a given token Secret is used, not generated")
        #expect(deployment[path: "spec", "replicas"] == 3, "any replica serves any kernel")
        #expect(deployment[path: "spec", "template", "spec", "containers"]?[0]?["image"] == "custom/gateway:2")
        #expect(deployment[path: "spec", "template", "spec", "containers"]?[0]?[path: "readinessProbe", "httpGet", "scheme"] == "HTTPS")
        #expect(rendering.url == "https://gw.default:8888")
        let service = try #require(rendering.children.child("Service", "gw"))
        #expect(service[path: "spec", "type"] == "LoadBalancer")
        #expect(service.annotations == ["a": "b"])
        let ingress = try #require(rendering.children.child("Ingress", "gw"))
        #expect(ingress[path: "spec", "tls"]?[0]?["secretName"] == "k-tls")
        #expect(rendering.absent.isEmpty, "three replicas: a budget, nothing to delete")
        #expect(rendering.children.child("PodDisruptionBudget", "gw")?[path: "spec", "maxUnavailable"] == 1)
    }

    @Test func kernelSpecsWithTemplatesGoToTheConfigMap() throws {
        let gateway = try Fixtures.gateway("gw", spec: ["kernels": ["python-gpu", "missing"], "kernelPolicy": ["allowedSecrets": ["s"], "maxResources": ["nvidia.com/gpu": 2]]])
        let kernelSpec = try Fixtures.kernelSpec("python-gpu", spec: [
            "displayName": "GPU", "image": "k:gpu", "template": ["name": "tpl"], "className": "x.KubeflowProcessProxy",
            "env": [["name": "A", "value": "1"], ["name": "B", "valueFrom": ["secretKeyRef": ["name": "s", "key": "k"]]]],
            "kernelResources": ["gpus": 1, "maxGpus": 2, "memory": "4Gi"],
        ])
        let template = Fixtures.object("JupyterKernelTemplate", name: "tpl", spec: [
            "template": ["metadata": ["labels": ["team": "ml"]], "spec": ["containers": [["name": "kernel"]]]]
        ])
        let rendering = render(
            gateway, kernelSpecs: ["python-gpu": kernelSpec], templates: [ObjectKey(namespace: "default", name: "tpl"): template])
        #expect(rendering.missingKernelSpecs == ["missing"])
        #expect(rendering.defaultKernelNotOffered == "python_kubernetes", "the schema default is not in spec.kernels")
        #expect(rendering.kernelSpecNames == ["python-gpu"])
        let configMap = try #require(rendering.children.child("ConfigMap", "gw-kernelspecs"))
        let data = try #require(configMap.data?.stringMapValue)
        #expect(Set(data.keys) == ["python-gpu.kernel.json", "python-gpu.pod.yaml"])
        let kernel = try JSONDecoder().decode(KubeJSON.self, from: Data(data["python-gpu.kernel.json"]!.utf8))
        #expect(kernel[path: "metadata", "process_proxy", "config", "image_name"] == "k:gpu")
        #expect(kernel[path: "metadata", "process_proxy", "class_name"] == .string(KernelSpecRenderer.kubernetesProcessProxy))
        #expect(kernel[path: "metadata", "elastic_jupyter", "resources", "gpus"] == "1")
        #expect(kernel[path: "metadata", "elastic_jupyter", "max_gpus"] == "2")
        #expect(kernel["env"] == ["A": "1"])
        #expect(kernel["argv"] == KubeJSON(KernelSpecRenderer.defaultArgv))
        #expect(kernel["interrupt_mode"] == "message")
        let pod = try JSONDecoder().decode(KubeJSON.self, from: Data(data["python-gpu.pod.yaml"]!.utf8))
        #expect(pod[path: "metadata", "labels", "team"] == "ml")
        #expect(pod[path: "spec", "containers"]?[0]?["env"]?[0]?["name"] == "B", "valueFrom variables go to the pod template")
        let deployment = try #require(rendering.children.child("Deployment", "gw"))
        #expect(deployment.containerEnv["EG_ALLOWED_KERNELS"]?["value"] == "missing,python-gpu", "listed names, even missing ones")
        let volumes = deployment[path: "spec", "template", "spec", "volumes"]?.arrayValue ?? []
        let items = volumes.first { $0["name"] == "kernelspecs" }?[path: "configMap", "items"]
        #expect(items == [
            ["key": "python-gpu.kernel.json", "path": "python-gpu/kernel.json"],
            ["key": "python-gpu.pod.yaml", "path": "python-gpu/pod.yaml"],
        ])
    }

    @Test func aMissingTemplateIsReportedNotFatal() throws {
        let gateway = try Fixtures.gateway("gw", spec: ["kernels": ["k"]])
        let kernelSpec = try Fixtures.kernelSpec("k", spec: ["template": ["name": "nope"]])
        let rendering = render(gateway, kernelSpecs: ["k": kernelSpec])
        #expect(rendering.missingTemplates == ["default/nope"])
        #expect(rendering.kernelSpecNames == ["k"])
    }

    @Test func kernelPodsAreIsolatedAndUnprivileged() throws {
        let rendering = render(try Fixtures.gateway())
        let policy = try #require(rendering.children.child("NetworkPolicy", "jupytergateway-sample-kernels"))
        #expect(policy[path: "spec", "podSelector", "matchLabels"] == [
            "app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": "jupytergateway-sample",
        ])
        let account = try #require(rendering.children.child("ServiceAccount", "jupytergateway-sample-kernel"))
        #expect(account["automountServiceAccountToken"] == false)
        let role = try #require(rendering.children.child("Role", "jupytergateway-sample"))
        let resources = Set((role["rules"]?.arrayValue ?? []).flatMap { $0["resources"]?.arrayValue ?? [] })
        #expect(resources == ["pods", "secrets", "events", "leases"])
        let leases = (role["rules"]?.arrayValue ?? []).first { $0["resources"] == ["leases"] }
        #expect(leases?["apiGroups"] == ["coordination.k8s.io"])
        #expect(leases?["verbs"] == ["get", "list", "watch", "create", "update", "patch", "delete"])
        let secrets = (role["rules"]?.arrayValue ?? []).filter { $0["resources"] == ["secrets"] }
        #expect(secrets.count == 2, "kernel connection Secrets, and the users Secret by name only")
        #expect(secrets.last?["resourceNames"] == ["jupytergateway-sample-users"])
    }
}
