"""Issue 19 item 2: the profile samples (deploy/samples/profiles.yaml, a z2jh ``profileList``) applied unchanged,
through the real controller and the real gateway, produce the expected kernel pods.

The controller renders the samples into the gateway's kernelspec ConfigMap; the test lays that ConfigMap out as
the gateway Deployment's volume items say (as the kubelet would) and starts the real gateway on it against the
same fake API server, with a kubelet double that is a GPU node (the A100 label, the nvidia.com/gpu taint, one
allocatable nvidia.com/gpu). Test plumbing only: the kernels' argv is the echo kernel (the kubelet double runs
containers as local processes, without the kernel images).
"""

from __future__ import annotations

import base64
import importlib.util
import json

import pytest
import yaml

import podkit
from fakekube.cluster import node_affinity_matches, untolerated_taint
from podkit import wait_until

GROUP, VERSION = "kubeflow.tkestack.io", "v1alpha1"
SAMPLE = podkit.REPO / "deploy" / "samples" / "profiles.yaml"
GPU_PRODUCT = "NVIDIA-A100-SXM4-40GB"


def controller_support():
    """tests/controller/support.py (the real controller process), under a name of its own."""
    spec = importlib.util.spec_from_file_location("controller_support", podkit.TESTS / "controller" / "support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def rendered(fake_kube, log_dir, tmp_path):
    """The samples applied unchanged over the API (schema-validated by the fake), the controller's ConfigMap and
    Deployment once all three profiles are rendered; the controller is stopped at teardown."""
    from fakekube.client import KubeClient
    for crd in sorted((podkit.REPO / "crds").glob("*.yaml")):
        if crd.name != "kustomization.yaml":
            fake_kube.create_object(yaml.safe_load(crd.read_text()))
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "controller.kubeconfig")
    api = KubeClient.from_kubeconfig(str(kubeconfig))
    docs = list(yaml.safe_load_all(SAMPLE.read_text()))
    for doc in docs:
        created = api.post(f"/apis/{GROUP}/{VERSION}/namespaces/default/{doc['kind'].lower()}s", doc)
        spec = {k: v for k, v in created["spec"].items()}
        if "gpu" in spec:  # the schema's defaults (if the server applies them) are the only additions
            assert spec["gpu"].pop("resourceName", "nvidia.com/gpu") == "nvidia.com/gpu"
            assert spec["gpu"].pop("typeLabel", "nvidia.com/gpu.product") == "nvidia.com/gpu.product"
        assert spec == doc["spec"], f"{doc['metadata']['name']} was changed on the way in"
    # Audit A1.8: requests from kernelResources must not lose a JupyterKernelTemplate's limit.
    base = f"/apis/{GROUP}/{VERSION}/namespaces/default"
    api.post(f"{base}/jupyterkerneltemplates", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterKernelTemplate", "metadata": {"name": "limited"},
        "spec": {"template": {"spec": {"containers": [{"name": "kernel", "resources": {"limits": {"memory": "1536Mi"}}}]}}}})
    api.post(f"{base}/jupyterkernelspecs", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterKernelSpec", "metadata": {"name": "template-limited"},
        "spec": {"template": {"name": "limited"}, "kernelResources": {"cpus": "500m", "memory": "1Gi"}}})
    api.merge_patch(f"{base}/jupytergateways/profiles", {"spec": {"kernels": [
        "profile-small", "profile-large-memory", "profile-gpu-a100", "template-limited"]}})
    support = controller_support()
    controller = support.Controller(kubeconfig, log_dir, name="controller-profiles").wait_ready()
    try:
        def configmap():
            cm = fake_kube.get_object("v1", "ConfigMap", "profiles-kernelspecs", "default")
            data = (cm or {}).get("data") or {}
            return cm if all(f"{n}.kernel.json" in data for n in
                             ("profile-small", "profile-large-memory", "profile-gpu-a100", "template-limited")) else None
        cm = wait_until(configmap, 30, 0.1, what="the profiles' kernelspec ConfigMap")
        deployment = wait_until(lambda: fake_kube.get_object("apps/v1", "Deployment", "profiles", "default"), 30, 0.1,
                                what="the profiles gateway Deployment")
        gateway = fake_kube.get_object(f"{GROUP}/{VERSION}", "JupyterGateway", "profiles", "default")
        refused = [c for c in (gateway.get("status") or {}).get("conditions") or [] if c["type"] == "KernelSpecRefused"]
        assert not [c for c in refused if c["status"] == "True"], refused
        yield cm, deployment
    finally:
        assert controller.stop() == 0


def lay_out(cm: dict, deployment: dict, root) -> None:
    """The kernelspec directory as the gateway pod sees it: the ConfigMap volume's items (data and binaryData)."""
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "kernelspecs")
    for item in volume["configMap"]["items"]:
        path = root / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if item["key"] in (cm.get("binaryData") or {}):
            path.write_bytes(base64.b64decode(cm["binaryData"][item["key"]]))
        else:
            path.write_text(cm["data"][item["key"]])
    for kernel in root.glob("*/kernel.json"):  # plumbing: the echo kernel instead of the image's ipykernel
        spec = json.loads(kernel.read_text())
        spec["argv"] = podkit.ECHO_ARGV
        kernel.write_text(json.dumps(spec))


def test_profile_samples_make_the_expected_kernel_pods(rendered, fake_kube, kubelet_for, collect_rendered, gateways,
                                                       tmp_path):
    cm, deployment = rendered
    collect_rendered(fake_kube)
    kubelet = kubelet_for(fake_kube, capacity={"nvidia.com/gpu": "1"}, labels={"nvidia.com/gpu.product": GPU_PRODUCT},
                          taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])
    cluster = podkit.make_cluster(fake_kube, kubelet, tmp_path)
    specs = tmp_path / "profiles" / "kernels"
    lay_out(cm, deployment, specs)
    gpu_spec = json.loads((specs / "profile-gpu-a100" / "kernel.json").read_text())["metadata"]["elastic_jupyter"]
    assert (gpu_spec["cull_idle_timeout"], gpu_spec["cull_connected"], gpu_spec["cull_max_age"]) == (600, True, 14400)

    gw = gateways(specs, cluster.kubeconfig, name="profiles", extra_args=["--kernel-cpu-limit", "3",
                                                                          "--kernel-memory-limit", "3Gi"])
    # The launcher's logos, served by the gateway from the kernelspec directory.
    listed = gw.rest.get("api/kernelspecs", timeout=10).json()["kernelspecs"]
    assert {"profile-gpu-a100", "profile-large-memory", "profile-small", "template-limited"} <= set(listed), sorted(listed)
    logo_url = listed["profile-gpu-a100"]["resources"]["logo-svg"]
    logo = gw.rest.get(logo_url.lstrip("/"), timeout=10)
    assert logo.status_code == 200 and logo.headers["Content-Type"] == "image/svg+xml"
    assert logo.content.startswith(b"<svg") and b"#76b900" in logo.content

    pods = {}
    for name in ("profile-small", "profile-large-memory", "profile-gpu-a100", "template-limited"):
        kid = gw.start_kernel(name, {"KERNEL_USERNAME": "alice"})
        pods[name] = cluster.kernel_pod(kid)
        assert pods[name]["status"]["phase"] == "Running", pods[name]["status"]

    def container(name):
        return pods[name]["spec"]["containers"][0]

    # Small: the profile's requests and limits (not the gateway's default limits); no scheduling constraints.
    assert container("profile-small")["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                       "limits": {"cpu": "1", "memory": "2Gi"}}
    assert "nodeSelector" not in pods["profile-small"]["spec"]
    assert not [t for t in pods["profile-small"]["spec"].get("tolerations", []) if t.get("key") == "nvidia.com/gpu"]
    # Large memory: its requests and limits, its node selector.
    assert container("profile-large-memory")["resources"] == {"requests": {"cpu": "1", "memory": "16Gi"},
                                                              "limits": {"cpu": "4", "memory": "32Gi"}}
    assert pods["profile-large-memory"]["spec"]["nodeSelector"] == {"node.kubernetes.io/instance-type": "highmem"}
    # GPU: one nvidia.com/gpu (request = limit), the A100 node selector, the GPU taint tolerated.
    assert container("profile-gpu-a100")["resources"] == {
        "requests": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "8", "memory": "16Gi", "nvidia.com/gpu": "1"}}
    gpu_pod = pods["profile-gpu-a100"]["spec"]
    assert gpu_pod["nodeSelector"] == {"nvidia.com/gpu.product": GPU_PRODUCT}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in gpu_pod["tolerations"]
    assert gpu_pod["nodeName"] == kubelet.node_name
    # With the simulated cluster's scheduler predicates: the GPU kernel fits only the GPU node (its label, its
    # taint tolerated); a CPU profile's kernel is kept off the GPU node by the taint.
    gpu_node = fake_kube.get_object("v1", "Node", kubelet.node_name)
    cpu_node = {"metadata": {"name": "cpu-node", "labels": {"node.kubernetes.io/instance-type": "highmem"}}, "spec": {}}
    assert node_affinity_matches(gpu_pod, gpu_node) and untolerated_taint(gpu_pod, gpu_node) is None
    assert not node_affinity_matches(gpu_pod, cpu_node)
    assert untolerated_taint(pods["profile-small"]["spec"], gpu_node) is not None
    assert node_affinity_matches(pods["profile-large-memory"]["spec"], cpu_node)
    assert not node_affinity_matches(pods["profile-large-memory"]["spec"], gpu_node)

    # A1.8: the kernelspec's requests, the template's memory limit kept, the gateway's default CPU limit.
    assert container("template-limited")["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                          "limits": {"cpu": "3", "memory": "1536Mi"}}

    # The maxima a client may ask for: the profile's, else the gateway policy's; one GPU at most.
    assert gw.post_kernel("profile-small", {"KERNEL_MEMORY": "8Gi"}, timeout=30)[0].status_code == 403
    assert gw.post_kernel("profile-gpu-a100", {"KERNEL_GPUS": "2"}, timeout=30)[0].status_code == 403
    assert gw.post_kernel("profile-gpu-a100", {"KERNEL_MEMORY": "64Gi"}, timeout=30)[0].status_code == 403
    for kid in gw.kernel_ids():
        assert gw.rest.delete(f"api/kernels/{kid}", timeout=30).status_code == 204
    cluster.wait_clean("profiles")
