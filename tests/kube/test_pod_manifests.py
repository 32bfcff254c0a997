"""Manifests: deploy/gateway, and every Pod and Secret the gateway rendered into a fake cluster, validate against
the Kubernetes 1.30 and 1.37 schemas (kubernetes-validate --strict); rendered pods carry the restricted Pod
Security Standard's fields."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import podkit
from podkit import RENDERED, RENDERED_LOCK, kubernetes_validate, pod_template, strip_server_fields, write_pod_kernelspec

DEPLOY = podkit.REPO / "deploy" / "gateway"
VERSIONS = ("1.30.0", "1.37.0")
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret"}


@pytest.fixture(scope="module", autouse=True)
def _validator():
    if not podkit.KUBERNETES_VALIDATE.exists():
        pytest.skip("kubernetes-validate is not installed in .venv (requirements-test.txt)")


def validate(files: list[Path]):
    for version in VERSIONS:
        r = kubernetes_validate(files, version)
        assert r.returncode == 0, f"kubernetes-validate -k {version} --strict:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"


# --------------------------------------------------------------------------------------------
# deploy/gateway
# --------------------------------------------------------------------------------------------


def deploy_files() -> list[Path]:
    return sorted(p for p in DEPLOY.iterdir() if p.suffix in (".yaml", ".yml"))


def test_every_deploy_gateway_manifest_validates():
    files = deploy_files()
    resources = [p for p in files if p.name != "kustomization.yaml"]  # kustomize's own file: built below
    assert len(resources) >= 8, files
    for p in resources:
        for doc in yaml.safe_load_all(p.read_text()):
            assert doc and doc.get("apiVersion") and doc.get("kind"), f"{p.name} is not a Kubernetes object"
    validate(resources)


def test_kustomization_lists_every_manifest():
    k = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    names = {p.name for p in deploy_files()} - {"kustomization.yaml"}
    assert set(k["resources"]) == names


def test_kubectl_kustomize_builds_and_validates(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    probe = subprocess.run([kubectl, "kustomize", "--help"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip("this kubectl has no kustomize")
    r = subprocess.run([kubectl, "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(["Namespace", "ServiceAccount", "ServiceAccount", "Role", "RoleBinding", "Deployment",
                            "Service", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy"]), kinds
    for d in docs:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == "elastic-jupyter", d["metadata"]
        assert d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "elastic-jupyter"
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0"
    # the API server setting lands in the kernels' egress policy
    egress = next(d for d in docs if d["metadata"]["name"] == "elastic-jupyter-kernel-egress")
    assert egress["spec"]["egress"][1]["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32", "192.0.2.1/32"]
    out = tmp_path / "kustomized.yaml"
    out.write_text(r.stdout)
    validate([out])


# --------------------------------------------------------------------------------------------
# what the gateway renders
# --------------------------------------------------------------------------------------------


def _python_is_the_venv(argv, pod, container):
    return [str(podkit.VENV_PY) if a == "python" else a for a in argv]


@pytest.fixture
def varied_run(fake_kube, kubelet_for, gateways, tmp_path, collect_rendered):
    """A gateway run that renders a variety of pods into the fake (shipped kernelspecs incl. the GPU one on a
    node with a GPU, resources, volumes, odd user names, failures); all collected into podkit.RENDERED."""
    collect_rendered(fake_kube)
    kubelet = kubelet_for(fake_kube, capacity={"nvidia.com/gpu": "1"}, command_rewrite=_python_is_the_venv)
    cluster = podkit.make_cluster(fake_kube, kubelet, tmp_path)
    specs = tmp_path / "specs" / "kernels"
    write_pod_kernelspec(specs, "pod_echo", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         ours={"resources": {"cpus": "250m", "memory": "256Mi"},
                               "allowed_volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                                                   {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]},
                         template=pod_template(annotations={"team": "ml"}, labels={"cost-center": "42"},
                                               spec={"nodeSelector": {"kubernetes.io/os": "linux"},
                                                     "tolerations": [{"key": "dedicated", "operator": "Equal",
                                                                      "value": "kernels", "effect": "NoSchedule"}]}))
    gw = gateways(specs, cluster.kubeconfig, name="gw-manifests",
                  extra_args=["--kernelspecs-dir", str(podkit.REPO / "kernelspecs"), "--allowed-images", "example/*"])
    started = [
        gw.start_kernel("python_kubernetes", {"KERNEL_USERNAME": "Dr.Emilie_O-Neil@example.org"}),
        gw.start_kernel("python_kubernetes_gpu", {"KERNEL_USERNAME": "gpu-user"}),
        gw.start_kernel("pod_echo", {"KERNEL_USERNAME": "x" * 64, "KERNEL_CPUS": "1", "KERNEL_MEMORY_LIMIT": "1Gi",
                                     "KERNEL_UID": "2000", "KERNEL_GID": "3000", "KERNEL_NOTEBOOK": "a/b c.ipynb",
                                     "KERNEL_VOLUMES": '[{"name": "scratch"}, {"name": "data"}]',
                                     "KERNEL_VOLUME_MOUNTS": '[{"name": "scratch", "mountPath": "/scratch"}, '
                                                             '{"name": "data", "mountPath": "/data", "readOnly": true}]'}),
    ]
    r, _ = gw.post_kernel("pod_echo", {"KERNEL_IMAGE": "example/does-not-exist:1"}, timeout=40)
    assert r.status_code == 503
    with ThreadPoolExecutor(max_workers=len(started)) as pool:
        codes = list(pool.map(lambda kid: gw.rest.delete(f"api/kernels/{kid}", timeout=60).status_code, started))
    assert codes == [204] * len(started)
    cluster.wait_clean()
    return cluster


def rendered_objects() -> list[dict]:
    with RENDERED_LOCK:
        return [strip_server_fields(o) for o in RENDERED.values()]


def test_rendered_pods_and_secrets(varied_run, tmp_path):
    """Every Pod and Secret rendered in this session (this test's varied run, and any earlier test's) validates,
    pods carry the restricted profile's fields, Secrets hold only the connection file."""
    objects = rendered_objects()
    pods = [o for o in objects if o["kind"] == "Pod"]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert len(pods) >= 4 and len(secrets) >= 4, (len(pods), len(secrets))
    out = tmp_path / "rendered"
    out.mkdir()
    files = []
    for i, o in enumerate(distinct(objects)):
        p = out / f"{i:04d}-{o['kind'].lower()}-{o['metadata']['name']}.json"
        p.write_text(json.dumps(o, indent=1))
        files.append(p)
    validate(files)
    check_restricted(pods)
    check_secrets(secrets)
    check_gpus_and_limits(pods)


def check_gpus_and_limits(pods: list[dict]):
    """No rendered pod (the shipped GPU kernelspec's included) sets NVIDIA_VISIBLE_DEVICES, and every kernel
    container has a CPU and a memory limit (findings 10, 12)."""
    gpu = [p for p in pods if (p["metadata"].get("annotations") or {}).get("elastic-jupyter.io/kernelspec") == "python_kubernetes_gpu"]
    assert gpu, "the shipped GPU kernelspec rendered no pod"
    for pod in pods:
        name = pod["metadata"]["name"]
        for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            assert all(e.get("name") != "NVIDIA_VISIBLE_DEVICES" for e in c.get("env") or []), name
        limits = (pod["spec"]["containers"][0].get("resources") or {}).get("limits") or {}
        assert "cpu" in limits and "memory" in limits, (name, limits)


def distinct(objects: list[dict]) -> list[dict]:
    """The objects, without those that differ from an earlier one only in their kernel id and connection file
    (50 kernels of one kernelspec are one shape: validating each of them would only take time)."""
    seen: set[str] = set()
    out = []
    for o in objects:
        kid = (o["metadata"].get("labels") or {}).get("kernel_id", "")
        shape = json.loads(json.dumps(o))
        if o["kind"] == "Secret":
            shape["data"] = {k: "" for k in shape.get("data") or {}}
        key = json.dumps(shape, sort_keys=True).replace(kid, "<kernel-id>") if kid else json.dumps(shape, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(o)
    return out


def check_restricted(pods: list[dict]):
    problems = []
    for pod in pods:
        name = pod["metadata"]["name"]
        spec = pod["spec"]
        sc = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{name}: automountServiceAccountToken is not false")
        if sc.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod runAsNonRoot")
        if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod seccompProfile")
        if sc.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser 0")
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(field):
                problems.append(f"{name}: {field}")
        for v in spec.get("volumes") or []:
            kinds = set(v) - {"name"}
            if not kinds <= RESTRICTED_VOLUME_TYPES:
                problems.append(f"{name}: volume {v['name']} of type {kinds}")
        for c in (spec.get("initContainers") or []) + spec["containers"]:
            csc = c.get("securityContext") or {}
            if csc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}/{c['name']}: allowPrivilegeEscalation")
            if csc.get("privileged"):
                problems.append(f"{name}/{c['name']}: privileged")
            if (csc.get("capabilities") or {}).get("drop") != ["ALL"] or (csc.get("capabilities") or {}).get("add"):
                problems.append(f"{name}/{c['name']}: capabilities {csc.get('capabilities')}")
            if csc.get("runAsNonRoot") is False or csc.get("runAsUser") == 0:
                problems.append(f"{name}/{c['name']}: runs as root")
            if (csc.get("seccompProfile") or {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
                problems.append(f"{name}/{c['name']}: seccompProfile")
            if any(p.get("hostPort") for p in c.get("ports") or []):
                problems.append(f"{name}/{c['name']}: hostPort")
    assert not problems, problems


def check_secrets(secrets: list[dict]):
    import base64

    for s in secrets:
        assert s["type"] == "Opaque"
        assert set(s["data"]) == {"connection.json"}, s["data"].keys()
        info = json.loads(base64.b64decode(s["data"]["connection.json"]))
        assert info["ip"] == "0.0.0.0" and info["key"] and info["signature_scheme"] == "hmac-sha256"
        assert s["metadata"]["name"].endswith("-connection")
        assert s["metadata"]["labels"]["app.kubernetes.io/component"] == "kernel"
