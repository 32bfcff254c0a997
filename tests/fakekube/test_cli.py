"""``python -m tests.fakekube``: the server (+ kubelet) and the kubelet alone, as separate processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .testing import control, wait_until

REPO = Path(__file__).resolve().parents[2]


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box or not box[0]:
        proc.kill()
        raise AssertionError(f"no ready line within {timeout}s; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return box[0]


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
        raise AssertionError("the fakekube process did not stop within 15s of SIGTERM")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "jupytergateways.kubeflow.tkestack.io"},
       "spec": {"group": "kubeflow.tkestack.io", "scope": "Namespaced",
                "names": {"plural": "jupytergateways", "singular": "jupytergateway", "kind": "JupyterGateway"},
                "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_cli_server_with_kubelet(tmp_path):
    (tmp_path / "crd.json").write_text(json.dumps(CRD))
    kc = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakekube", "--kubelet", "--kubeconfig", str(kc),
                             "--apply", str(tmp_path / "crd.json"), "--info-file", str(tmp_path / "info.json"),
                             "--backoff-base", "0.2"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(read_line(proc, 30))
        assert info["kubeconfig"] == str(kc) and info["kubelet"] and info["pid"] == proc.pid
        assert json.loads((tmp_path / "info.json").read_text()) == info
        kubernetes = pytest.importorskip("kubernetes")
        api = kubernetes.config.new_client_from_config(config_file=str(kc))
        co = kubernetes.client.CustomObjectsApi(api)
        co.create_namespaced_custom_object("kubeflow.tkestack.io", "v1alpha1", "default", "jupytergateways", {
            "apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": "JupyterGateway", "metadata": {"name": "gw"},
            "spec": {"cullIdleTimeout": 60}})
        core = kubernetes.client.CoreV1Api(api)
        core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
                                               "spec": {"containers": [{"name": "c", "image": "python:3.11",
                                                                        "command": ["python", "-c",
                                                                                    "import time; time.sleep(60)"]}]}})
        wait_until(lambda: core.read_namespaced_pod("sleeper", "default").status.phase == "Running", 15)
        pods = control(info["url"], "GET", "kubelet/pods")["items"]
        pid = pods[0]["pid"]
        assert alive(pid)
        assert control(info["url"], "GET", "state")["pid"] == proc.pid
        assert any(r["path"].endswith("/pods") for r in control(info["url"], "GET", "requests")["items"])
        api.close()
        assert stop(proc) == 0
        wait_until(lambda: not alive(pid), 5, message="pod process stopped with the server")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def test_cli_kubelet_in_its_own_process(fake_kube, fake_kubeconfig, tmp_path):
    pidfile = tmp_path / "pid"
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakekube", "kubelet", "--kubeconfig", str(fake_kubeconfig),
                             "--node-name", "node-2", "--ip-prefix", "127.0.5"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(read_line(proc, 30))["node"] == "node-2"
        code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
        fake_kube.create_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "remote"},
                                 "spec": {"containers": [{"name": "c", "image": "python:3.11",
                                                          "command": ["python", "-c", code]}]}})
        wait_until(lambda: fake_kube.get_object("v1", "Pod", "remote")["status"].get("phase") == "Running", 15)
        pod = fake_kube.get_object("v1", "Pod", "remote")
        assert pod["spec"]["nodeName"] == "node-2" and pod["status"]["podIP"].startswith("127.0.5.")
        assert fake_kube.get_object("v1", "Node", "node-2") is not None
        pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text(), 10))
        assert alive(pid)
        assert stop(proc) == 0
        assert not alive(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
