"""Issue 19 item 1 on a FakeCluster: the gateway's image pre-pulling pods run on the nodes their kernels can run on.

Three nodes, one of them a GPU node (label nvidia.com/gpu.present=true, taint nvidia.com/gpu:NoSchedule). The
controller (the real binary, a local process) serves a JupyterGateway offering a CPU kernelspec and a GPU one whose
JupyterKernelTemplate selects and tolerates the GPU node (as deploy/samples/gpu-kernels.yaml). The cluster's
DaemonSet controller and scheduler place the pre-pull pods; their main container is the real `elastic-jupyter
pause` (the gateway image is not built here: the binary runs as a local command, as the non-root user the pod
asks for), so a pod is Ready only when it really runs, and the gateway's status.prePull follows from the
DaemonSets' status. The fake kubelet does not run init containers: their commands are checked to be the no-op
(tests/controller/test_prepull.py runs that no-op in a root without a shell)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fakekube.cluster import FakeCluster
from fakekube.testing import wait_until as fakekube_wait_until

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("EJ_BINARY", REPO / ".build" / "debug" / "elastic-jupyter"))
GROUP = "/apis/kubeflow.tkestack.io/v1alpha1/namespaces/default"
GATEWAY_IMAGE = "elastic-jupyter:prepull-test"
GPU_NODE = {"name": "node-gpu", "labels": {"nvidia.com/gpu.present": "true"},
            "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]}


def pause_command(argv: list[str], pod: dict, container: dict) -> list[str]:
    """The gateway image is not built here: its `pause` runs as the local binary."""
    if container.get("image") == GATEWAY_IMAGE and argv == ["pause"]:
        return [str(BINARY), "pause"]
    return argv


def wait_until(predicate, *, details, **kw):
    """fakekube's wait_until, with ``details()`` (the controller log, the pods) in the failure message."""
    try:
        return fakekube_wait_until(predicate, **kw)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{details()}") from None


def cr(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": "default"},
            "spec": spec}


@pytest.fixture
def cluster(fake_kube_factory, tmp_path):
    if not BINARY.exists():
        pytest.fail(f"{BINARY} missing: swift build --product elastic-jupyter")
    server = fake_kube_factory(tls=True, token="prepull-" + os.urandom(8).hex(), graceful_pod_deletion=True)
    for f in sorted((REPO / "crds").glob("kubeflow*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if d:
                server.create_object(d)
    c = FakeCluster(server, [{"name": "node-a"}, {"name": "node-b"}, GPU_NODE], command_rewrite=pause_command,
                    workdir=tmp_path / "cluster")
    c.start()
    kubeconfig = tmp_path / "kubeconfig"
    server.write_kubeconfig(str(kubeconfig))
    log = open(tmp_path / "controller.log", "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "EJ_", "POD_"))}
    controller = subprocess.Popen(
        [str(BINARY), "controller", "--kubeconfig", str(kubeconfig), "--no-leader-elect", "--metrics-port", "0",
         "--health-port", "0", "--gateway-image", GATEWAY_IMAGE, "--resync-period", "30"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        yield c, tmp_path / "controller.log"
    finally:
        controller.terminate()
        try:
            controller.wait(timeout=15)
        except subprocess.TimeoutExpired:
            controller.kill()
            controller.wait(timeout=5)
        log.close()
        c.stop()


def test_prepull_pods_run_on_the_nodes_their_kernels_can_run_on(cluster):
    c, log = cluster
    api = c.client

    def details() -> str:
        lines = [(log.read_text(errors="replace").splitlines() or [""])[-30:]]
        pods = [f"{p['name']} on {p.get('node')} {p['phase']}" for p in c.pods()]
        return "\n".join(lines[0] + pods)

    api.post(f"{GROUP}/jupyterkerneltemplates", cr("JupyterKernelTemplate", "gpu-kernel", {"template": {"spec": {
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "kernel", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}))
    api.post(f"{GROUP}/jupyterkernelspecs", cr("JupyterKernelSpec", "python-gpu", {
        "image": "example.org/kernel:gpu", "template": {"name": "gpu-kernel"}}))
    api.post(f"{GROUP}/jupyterkernelspecs", cr("JupyterKernelSpec", "python-cpu", {"image": "example.org/kernel:cpu"}))
    # no gateway replica: only the pre-pull pods matter here
    api.post(f"{GROUP}/jupytergateways", cr("JupyterGateway", "gw", {
        "replicas": 0, "kernels": ["python-cpu", "python-gpu"],
        "kernelPolicy": {"maxResources": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2}}}))

    def running() -> dict[str, list[str]] | None:
        """Pre-pull pods Running and Ready, by the image they pull: node names."""
        out: dict[str, list[str]] = {}
        items = api.get("/api/v1/namespaces/default/pods", labelSelector="app.kubernetes.io/component=prepull")["items"]
        for p in items:
            ready = any(x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions") or [])
            if not ready or p["status"].get("phase") != "Running":
                return None
            for ic in p["spec"]["initContainers"][1:]:
                out.setdefault(ic["image"], []).append(p["spec"]["nodeName"])
        return {k: sorted(v) for k, v in out.items()} if len(items) == 3 else None

    placed = wait_until(running, timeout=90, interval=0.3, message="the pre-pull pods running", details=details)
    assert placed == {"example.org/kernel:cpu": ["node-a", "node-b"], "example.org/kernel:gpu": ["node-gpu"]}

    pods = api.get("/api/v1/namespaces/default/pods", labelSelector="app.kubernetes.io/component=prepull")["items"]
    for p in pods:
        spec = p["spec"]
        assert spec["initContainers"][0]["command"] == ["cp", "/usr/local/libexec/elastic-jupyter/noop", "/prepull/noop"]
        assert all(ic["command"] == ["/prepull/noop"] for ic in spec["initContainers"][1:]), "no shell in kernel images"
        assert spec["containers"][0]["args"] == ["pause"]
        assert spec["securityContext"]["runAsUser"] == 65532 and spec["securityContext"]["runAsNonRoot"] is True

    status = wait_until(lambda: ((api.get(f"{GROUP}/jupytergateways/gw").get("status") or {}).get("prePull") or {})
                        .get("progress") == "3/3" and api.get(f"{GROUP}/jupytergateways/gw")["status"]["prePull"],
                        timeout=60, interval=0.3, message="status.prePull 3/3", details=details)
    assert {i["image"]: (i["pulled"], i["desired"]) for i in status["images"]} == {
        "example.org/kernel:cpu": (2, 2), "example.org/kernel:gpu": (1, 1)}

    # the pause process stops at once on SIGTERM: a deleted pre-pull pod goes quickly and is replaced
    victim = next(p for p in pods if p["spec"]["nodeName"] == "node-gpu")["metadata"]["name"]
    api.delete(f"/api/v1/namespaces/default/pods/{victim}")
    wait_until(lambda: all(p["name"] != victim for p in c.pods()), timeout=10, message="the pause pod stopped on SIGTERM",
               details=details)
    assert wait_until(running, timeout=60, interval=0.3, message="the pod replaced", details=details) == placed
