"""A real ipykernel as a pod: REST -> pod -> ZeroMQ -> ipykernel, with the connection file from a Secret."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")
from jupyter_client.blocking import BlockingKernelClient  # noqa: E402

from .testing import wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VENV6_PY = REPO / ".venv-ipykernel6" / "bin" / "python"


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def connection_info() -> dict:
    shell, iopub, stdin, control, hb = free_ports(5)
    # like Enterprise Gateway's kernel pods: bind the wildcard address (here: the pod's own address)
    return {"shell_port": shell, "iopub_port": iopub, "stdin_port": stdin, "control_port": control, "hb_port": hb,
            "ip": "0.0.0.0", "key": secrets.token_hex(16), "transport": "tcp", "signature_scheme": "hmac-sha256",
            "kernel_name": "python3"}


def kernel_pod(name: str, secret: str, python: str = "python") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"component": "kernel", "kernel_id": name}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "kernel", "image": "elyra/kernel-py:3.2.3",
                                     "command": [python, "-m", "ipykernel_launcher", "-f",
                                                 "/etc/kernel/connection.json"],
                                     "volumeMounts": [{"name": "conn", "mountPath": "/etc/kernel"}]}],
                     "volumes": [{"name": "conn", "secret": {"secretName": secret}}]}}


def kernel_info(ip: str, info: dict) -> tuple[dict, str]:
    """kernel_info_reply, and the pod IP and ipykernel version as printed by code run in the kernel."""
    outputs: list[dict] = []
    kc = BlockingKernelClient()
    kc.load_connection_info({**info, "ip": ip})
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=30)
        msg_id = kc.kernel_info()
        # wait_for_ready repeats kernel_info_request while the kernel is slow to start; replies to those
        # repeats can still be queued, so read until the reply to this request (at most a few).
        for _ in range(10):
            reply = kc.get_shell_msg(timeout=10)
            if reply["parent_header"]["msg_id"] == msg_id:
                break
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["msg_type"] == "kernel_info_reply"
        result = kc.execute_interactive("import os, ipykernel; print(os.environ['FAKE_POD_IP'], "
                                        "ipykernel.__version__)", timeout=15,
                                        output_hook=lambda m: outputs.append(m))
        assert result["content"]["status"] == "ok"
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        return reply, text.strip()
    finally:
        kc.stop_channels()


def test_ipykernel_pods_same_ports_different_addresses(fake_kube, fake_kubelet):
    info = connection_info()
    fake_kube.create_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kernel-conn"},
                             "stringData": {"connection.json": json.dumps(info)}})
    fake_kube.create_object(kernel_pod("kernel-new", "kernel-conn"))
    with_v6 = VENV6_PY.exists()
    if with_v6:  # the same connection file (same ports) for a second kernel, ipykernel 6.x this time
        fake_kube.create_object(kernel_pod("kernel-v6", "kernel-conn", python=str(VENV6_PY)))
    names = ["kernel-new"] + (["kernel-v6"] if with_v6 else [])

    def running():
        pods = [fake_kube.get_object("v1", "Pod", n) for n in names]
        return all(p["status"].get("phase") == "Running" for p in pods) and pods
    pods = wait_until(running, 20, message="kernel pods Running")
    versions = []
    for p in pods:
        ip = p["status"]["podIP"]
        reply, printed = kernel_info(ip, info)
        assert reply["msg_type"] == "kernel_info_reply" and reply["content"]["status"] == "ok"
        assert reply["content"]["language_info"]["name"] == "python"
        printed_ip, version = printed.split()
        assert printed_ip == ip
        versions.append(version)
    assert int(versions[0].split(".")[0]) >= 7
    if with_v6:
        assert versions[1].startswith("6.")
    # deleting the pod stops the kernel
    fake_kube.delete_object("v1", "Pod", "kernel-new")
    ip = pods[0]["status"]["podIP"]

    def closed():
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex((ip, info["shell_port"])) != 0
    wait_until(closed, 10, message="kernel process gone")
