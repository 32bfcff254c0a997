"""Issue 18: the images built offline by scripts/build-images.sh, run on the simulated cluster.

deploy/controller and deploy/gateway are applied as `kubectl apply -k` renders them (their image is the product
image's name); the kernelspec the gateway image ships names the kernel image. No pod here runs a local command:
the kubelet doubles run each container chrooted into its image's root file system (tests/fakekube/images.py).
Checked: /healthz of the gateway and the controller answer from their pods, none of the three processes is root,
and a cell runs on a kernel pod of the kernel image (uid 1000, gid 100, the image's venv and working dir).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import requests
import yaml

from fakekube.cluster import FakeCluster
from fakekube.testing import wait_until
from helpers import KernelWS
from imagekit import KERNEL_IMAGE, PRODUCT_IMAGE, REPO, built_images

GATEWAY_NS, CONTROLLER_NS = "elastic-jupyter", "elastic-jupyter-system"


def kustomize(directory: Path) -> list[dict]:
    built = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def proc_status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


@pytest.fixture
def cluster(fake_kube_factory, tmp_path):
    images = built_images()
    server = fake_kube_factory(tls=True, token="img-" + os.urandom(8).hex(), graceful_pod_deletion=True)
    for f in sorted((REPO / "crds").glob("kubeflow*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            if d:
                server.create_object(d)
    c = FakeCluster(server, [{"name": "node-a"}], images=images, workdir=tmp_path / "cluster", kill_grace=5.0)
    c.start()
    try:
        yield c
    finally:
        c.stop()


def test_gateway_controller_and_kernel_run_from_the_images(cluster):
    server, api = cluster.server, cluster.client
    token = secrets.token_hex(32)
    docs = kustomize(REPO / "deploy" / "controller") + kustomize(REPO / "deploy" / "gateway")
    for d in sorted(docs, key=lambda d: d["kind"] != "Namespace"):
        if d["kind"] == "CustomResourceDefinition":
            continue  # created from crds/ (the same files)
        if d["kind"] == "Deployment":
            container = d["spec"]["template"]["spec"]["containers"][0]
            assert container["image"] == PRODUCT_IMAGE, container["image"]
            if d["metadata"]["namespace"] == CONTROLLER_NS:
                # one replica is enough here; pods share the host's network, so its health and metrics servers
                # bind the pod's address (fakekube turns an explicit 0.0.0.0 into it), not every address
                d["spec"]["replicas"] = 1
                container["args"] = container["args"] + ["--bind-address=0.0.0.0"]
        server.create_object(d)
    server.create_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": {"name": "elastic-jupyter-gateway-auth", "namespace": GATEWAY_NS},
                          "stringData": {"token": token}})

    def available(ns: str, name: str):
        st = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").get("status") or {}
        return st.get("availableReplicas") == 1

    def logs() -> str:
        out = []
        for p in cluster.pods():
            kl = cluster.kubelet_of(p["namespace"], p["name"])
            out.append(f"--- {p['namespace']}/{p['name']} {p['phase']}:\n"
                       f"{(kl.read_log(p['namespace'], p['name']) or '')[-3000:]}")
        return "\n".join(out)

    def wait(pred, what, timeout=90.0):
        try:
            return wait_until(pred, timeout=timeout, interval=0.2, message=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{logs()}") from None

    t0 = time.monotonic()
    wait(lambda: available(CONTROLLER_NS, "elastic-jupyter-controller"), "the controller Deployment available")
    wait(lambda: available(GATEWAY_NS, "elastic-jupyter-gateway"), "the gateway Deployment available")
    t_ready = time.monotonic() - t0

    def pod_of(ns: str, selector: str) -> dict:
        pods = [p for p in api.get(f"/api/v1/namespaces/{ns}/pods", labelSelector=selector)["items"]
                if not p["metadata"].get("deletionTimestamp")]
        assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
        return pods[0]

    def in_image(pod: dict, image: str) -> tuple[int, str]:
        """The pod's process runs in the image's root file system; returns (pid, pod IP)."""
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        kl = cluster.kubelet_of(ns, name)
        pid = kl.pod_pid(ns, name)
        assert pid, f"{ns}/{name} has no process"
        root = os.readlink(f"/proc/{pid}/root")
        assert root == str(kl.pod_dir(ns, name) / "container" / "root"), root
        info = next(p for p in kl.pods() if p["name"] == name)
        assert pod["spec"]["containers"][0]["image"] == image
        return pid, info["ip"]

    # the controller: its own image, /healthz, not root
    ctl = pod_of(CONTROLLER_NS, "app.kubernetes.io/component=controller")
    pid, ip = in_image(ctl, PRODUCT_IMAGE)
    uid = proc_status(pid)["Uid"].split()
    assert uid[0] == "65532" and uid[1] == "65532", uid
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == b"/usr/local/bin/elastic-jupyter"
    with urllib.request.urlopen(f"http://{ip}:8081/healthz", timeout=5) as r:
        assert r.status == 200

    # the gateway: /healthz, not root, and its kernelspecs are the image's (the kernel image's name)
    gw = pod_of(GATEWAY_NS, "app.kubernetes.io/component=gateway")
    pid, ip = in_image(gw, PRODUCT_IMAGE)
    uid = proc_status(pid)["Uid"].split()
    assert uid[0] == "1000", uid
    base = f"http://{ip}:8888"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    auth = {"Authorization": f"token {token}"}
    specs = requests.get(f"{base}/api/kernelspecs", headers=auth, timeout=10).json()
    assert sorted(specs["kernelspecs"]) == ["python_kubernetes", "python_kubernetes_gpu"], specs  # no local python3
    shipped = specs["kernelspecs"]["python_kubernetes"]["spec"]["metadata"]["process_proxy"]["config"]
    assert shipped["image_name"] == KERNEL_IMAGE

    # a kernel pod from the kernel image runs a cell
    t1 = time.monotonic()
    r = requests.post(f"{base}/api/kernels", json={"name": "python_kubernetes", "env": {"KERNEL_USERNAME": "alice"}},
                      headers=auth, timeout=120)
    assert r.status_code == 201, f"{r.status_code} {r.text}\n{logs()}"
    kid = r.json()["id"]
    t_kernel = time.monotonic() - t1
    kernel = pod_of(GATEWAY_NS, f"kernel_id={kid}")
    pid, _ = in_image(kernel, KERNEL_IMAGE)
    assert proc_status(pid)["Uid"].split()[0] == "1000"
    with KernelWS(f"ws://{ip}:8888/api/kernels/{kid}/channels", token=token) as ws:
        out = ws.execute_ok("import os, sys; print(os.getuid(), os.getgid(), os.getcwd(), sys.executable, "
                            "os.environ['HOME'], open('/etc/os-release').read().split()[0])")
    assert out.split() == ["1000", "100", "/home/jovyan/work", "/opt/venv/bin/python", "/home/jovyan",
                           'PRETTY_NAME="Debian'], out
    assert requests.delete(f"{base}/api/kernels/{kid}", headers=auth, timeout=60).status_code == 204
    wait(lambda: not api.get(f"/api/v1/namespaces/{GATEWAY_NS}/pods", labelSelector=f"kernel_id={kid}")["items"],
         "the kernel pod gone", 60)
    print(f"\nimages on the cluster: controller and gateway available in {t_ready:.1f}s, "
          f"a kernel pod started in {t_kernel:.1f}s")
