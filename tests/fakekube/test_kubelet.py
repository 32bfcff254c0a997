"""The kubelet double: real local processes, each pod on its own loopback address, reported through /status."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time

import pytest
import requests

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from .testing import control, wait_until  # noqa: E402

HTTP_SERVER = textwrap.dedent("""
    import http.server, os
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (os.environ["MY_NAME"] + " " + os.environ["POD_IP"]).encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a): pass
    http.server.HTTPServer((os.environ["FAKE_POD_IP"], 8080), H).serve_forever()
""")


def py_pod(name: str, code: str, restart: str = "Never", **extra) -> dict:
    container = {"name": "main", "image": "python:3.11-slim", "command": ["python", "-c", code]}
    container.update(extra.pop("container", {}))
    meta = {"name": name, **extra.pop("metadata", {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"restartPolicy": restart, "containers": [container], **extra}}


def phase(kube, name, ns="default"):
    p = kube.get_object("v1", "Pod", name, ns)
    return (p or {}).get("status", {}).get("phase")


def cstate(kube, name, ns="default") -> dict:
    p = kube.get_object("v1", "Pod", name, ns) or {}
    statuses = p.get("status", {}).get("containerStatuses") or [{}]
    return statuses[0]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_two_pods_same_port_on_their_own_loopback_addresses(fake_kube, fake_kubelet, kube_api):
    core = client.CoreV1Api(kube_api)
    for name in ("web-a", "web-b"):
        body = py_pod(name, HTTP_SERVER, container={
            "env": [{"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "ports": [{"containerPort": 8080}]})
        core.create_namespaced_pod("default", body)

    def both_running():
        pods = [core.read_namespaced_pod(n, "default") for n in ("web-a", "web-b")]
        return all(p.status.phase == "Running" for p in pods) and pods
    pods = wait_until(both_running, 15, message="both pods Running")
    ips = [p.status.pod_ip for p in pods]
    assert len(set(ips)) == 2 and all(ip.startswith("127.0.0.") and int(ip.rsplit(".", 1)[1]) >= 2 for ip in ips)
    for p in pods:
        assert p.spec.node_name == "fake-node" and p.status.host_ip == "127.0.0.1"
        conds = {c.type: c.status for c in p.status.conditions}
        assert conds["PodScheduled"] == "True" and conds["Initialized"] == "True"
        cs = p.status.container_statuses[0]
        assert cs.state.running is not None and cs.restart_count == 0 and cs.container_id.startswith("containerd://")
        assert p.status.pod_ip == fake_kubelet.pod_ip("default", p.metadata.name)

    def answers(ip, name):
        try:
            return requests.get(f"http://{ip}:8080/", timeout=1).text == f"{name} {ip}"
        except requests.RequestException:
            return False
    for p in pods:
        wait_until(lambda: answers(p.status.pod_ip, p.metadata.name), 10, message=f"{p.metadata.name} answers")
    wait_until(lambda: all({c.type: c.status for c in core.read_namespaced_pod(n, "default").status.conditions}
                           ["Ready"] == "True" for n in ("web-a", "web-b")), 5)


def test_env_volumes_and_path_rewriting(fake_kube, fake_kubelet, kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_secret("default", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                                              "stringData": {"password": "hunter2", "conn.json": '{"a": 1}'}})
    core.create_namespaced_config_map("default", {"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"name": "settings"},
                                                  "data": {"mode": "fast", "app.cfg": "x=1"}})
    code = textwrap.dedent("""
        import json, os, sys
        out = {"argv": sys.argv[1:], "cwd": os.getcwd(),
               "env": {k: os.environ.get(k) for k in ("PASSWORD", "MODE", "POD_NAME", "POD_NS", "MY_IP", "POD_IP",
                                                      "FAKE_POD_IP", "GREETING", "CONN", "LITERAL")},
               "conn": open(sys.argv[1]).read(), "cfg": open("/etc/app/app.cfg".replace("/etc/app",
                                                              os.path.dirname(os.environ["CFG_DIR"] + "/x"))).read(),
               "mode": oct(os.stat(sys.argv[1]).st_mode & 0o777)}
        print(json.dumps(out))
    """)
    body = py_pod("envpod", code, container={
        "args": ["/etc/kernel/connection.json", "--name=$(POD_NAME)"],
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "GREETING", "value": "hello $(POD_NAME)"},
            {"name": "LITERAL", "value": "$$(POD_NAME)"},
            {"name": "CONN", "value": "/etc/kernel/connection.json"},
            {"name": "CFG_DIR", "value": "/etc/app"}],
        "volumeMounts": [{"name": "conn", "mountPath": "/etc/kernel", "readOnly": True},
                         {"name": "cfg", "mountPath": "/etc/app"}]},
        volumes=[{"name": "conn", "secret": {"secretName": "creds", "defaultMode": 0o600,
                                            "items": [{"key": "conn.json", "path": "connection.json"}]}},
                 {"name": "cfg", "configMap": {"name": "settings"}}])
    core.create_namespaced_pod("default", body)
    wait_until(lambda: phase(fake_kube, "envpod") == "Succeeded", 15, message="envpod Succeeded")
    out = json.loads(core.read_namespaced_pod_log("envpod", "default").strip().splitlines()[-1])
    env = out["env"]
    ip = fake_kube.get_object("v1", "Pod", "envpod")["status"]["podIP"]
    assert env["PASSWORD"] == "hunter2" and env["MODE"] == "fast"
    assert env["POD_NAME"] == "envpod" and env["POD_NS"] == "default"
    assert env["MY_IP"] == env["POD_IP"] == env["FAKE_POD_IP"] == ip
    assert env["GREETING"] == "hello envpod" and env["LITERAL"] == "$(POD_NAME)"
    assert out["conn"] == '{"a": 1}' and out["cfg"] == "x=1" and out["mode"] == "0o600"
    conn_path = out["argv"][0]
    assert conn_path.endswith("/volumes/conn/connection.json") and not conn_path.startswith("/etc/")
    assert env["CONN"] == conn_path and out["argv"][1] == "--name=envpod"
    st = fake_kube.get_object("v1", "Pod", "envpod")["status"]
    term = st["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodCompleted"


def test_missing_secret_blocks_the_container_until_it_exists(fake_kube, fake_kubelet):
    fake_kube.create_object(py_pod("waits", "print('started')", container={
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "t"}}}]}))
    wait_until(lambda: (cstate(fake_kube, "waits").get("state") or {}).get("waiting", {}).get("reason") ==
               "CreateContainerConfigError", 10)
    assert cstate(fake_kube, "waits")["state"]["waiting"]["message"] == 'secret "late" not found'
    fake_kube.create_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "late"},
                             "stringData": {"t": "x"}})
    wait_until(lambda: phase(fake_kube, "waits") == "Succeeded", 10)


def test_exit_codes_and_restart_policy_never(fake_kube, fake_kubelet):
    fake_kube.create_object(py_pod("fails", "import sys; sys.exit(3)"))
    wait_until(lambda: phase(fake_kube, "fails") == "Failed", 10)
    term = cstate(fake_kube, "fails")["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"
    fake_kube.create_object(py_pod("nocmd", "", container={"command": ["definitely-not-a-binary-xyz"]}))
    wait_until(lambda: phase(fake_kube, "nocmd") == "Failed", 10)
    term = cstate(fake_kube, "nocmd")["state"]["terminated"]
    assert term["reason"] == "StartError" and term["exitCode"] == 128
    assert 'exec: "definitely-not-a-binary-xyz"' in term["message"]


def test_deletion_kills_the_process_group_and_frees_the_address(fake_kube, fake_kubelet, kube_api):
    core = client.CoreV1Api(kube_api)
    code = "import subprocess, time; c = subprocess.Popen(['sleep', '60']); print(c.pid, flush=True); time.sleep(60)"
    core.create_namespaced_pod("default", py_pod("tree", code))
    wait_until(lambda: phase(fake_kube, "tree") == "Running", 10)
    child = int(wait_until(lambda: core.read_namespaced_pod_log("tree", "default").strip(), 10))
    leader = fake_kubelet.pod_pid("default", "tree")
    ip = fake_kubelet.pod_ip("default", "tree")
    pod_dir = fake_kubelet.pod_dir("default", "tree")
    assert pid_alive(leader) and pid_alive(child) and pod_dir.is_dir()
    core.delete_namespaced_pod("tree", "default")
    wait_until(lambda: not pid_alive(leader) and not pid_alive(child), 10, message="process group gone")
    wait_until(lambda: not pod_dir.exists(), 5, message="pod directory removed")
    core.create_namespaced_pod("default", py_pod("next", "import time; time.sleep(30)"))
    wait_until(lambda: phase(fake_kube, "next") == "Running", 10)
    assert fake_kube.get_object("v1", "Pod", "next")["status"]["podIP"] == ip  # reused after deletion
    kinds = [(e["reason"], e["involvedObject"]["name"]) for e in fake_kube.list_objects("v1", "Event")]
    for reason in ("Scheduled", "Pulled", "Created", "Started", "Killing"):
        assert (reason, "tree") in kinds


def test_kill_from_outside(fake_kube, fake_kubelet):
    fake_kube.create_object(py_pod("victim", "import time; time.sleep(60)"))
    fake_kube.create_object(py_pod("victim2", "import time; time.sleep(60)"))
    wait_until(lambda: phase(fake_kube, "victim") == "Running" and phase(fake_kube, "victim2") == "Running", 10)
    assert fake_kubelet.kill("default", "victim")
    wait_until(lambda: phase(fake_kube, "victim") == "Failed", 10)
    term = cstate(fake_kube, "victim")["state"]["terminated"]
    assert term["exitCode"] == 137 and term["reason"] == "Error"
    # the same through the control API (from another process)
    assert control(fake_kube.url, "POST", "kubelet/kill", {"namespace": "default", "name": "victim2",
                                                             "signal": "SIGTERM"}) == {"killed": True}
    wait_until(lambda: phase(fake_kube, "victim2") == "Failed", 10)
    assert cstate(fake_kube, "victim2")["state"]["terminated"]["exitCode"] == 143
    pods = control(fake_kube.url, "GET", "kubelet/pods")["items"]
    assert {p["name"] for p in pods} == {"victim", "victim2"}


def test_graceful_deletion_terminates_with_sigterm(fake_kube_factory, fake_kubelet_factory, tmp_path):
    kube = fake_kube_factory(graceful_pod_deletion=True)
    fake_kubelet_factory(kube)
    marker = tmp_path / "got-sigterm"
    code = textwrap.dedent(f"""
        import signal, sys, time
        def bye(*_):
            open({str(marker)!r}, "w").write("yes"); sys.exit(0)
        signal.signal(signal.SIGTERM, bye)
        time.sleep(60)
    """)
    kube.create_object(py_pod("graceful", code, terminationGracePeriodSeconds=10))
    wait_until(lambda: phase(kube, "graceful") == "Running", 10)
    time.sleep(0.3)  # let the interpreter install its handler
    deleted = kube.delete_object("v1", "Pod", "graceful")
    assert deleted["metadata"]["deletionTimestamp"] and deleted["metadata"]["deletionGracePeriodSeconds"] == 10
    wait_until(lambda: kube.get_object("v1", "Pod", "graceful") is None, 10, message="kubelet removed the pod")
    assert marker.read_text() == "yes"


def test_readiness_probe_gates_ready(fake_kube, fake_kubelet):
    code = textwrap.dedent("""
        import os, socket, time
        time.sleep(1.0)
        s = socket.socket(); s.bind((os.environ["POD_IP"], 9000)); s.listen(); time.sleep(60)
    """)
    fake_kube.create_object(py_pod("probed", code, container={"readinessProbe": {
        "tcpSocket": {"port": 9000}, "periodSeconds": 1}}))
    wait_until(lambda: phase(fake_kube, "probed") == "Running", 10)
    assert cstate(fake_kube, "probed")["ready"] is False
    wait_until(lambda: cstate(fake_kube, "probed")["ready"], 10, message="ready after the port opens")
    conds = {c["type"]: c["status"] for c in fake_kube.get_object("v1", "Pod", "probed")["status"]["conditions"]}
    assert conds["Ready"] == "True" and conds["ContainersReady"] == "True"


def test_pods_for_other_nodes_or_schedulers_are_left_alone(fake_kube, fake_kubelet):
    fake_kube.create_object(py_pod("elsewhere", "pass", nodeName="other-node"))
    fake_kube.create_object(py_pod("custom", "pass", schedulerName="my-scheduler"))
    fake_kube.create_object(py_pod("mine", "pass", nodeName="fake-node"))
    wait_until(lambda: phase(fake_kube, "mine") == "Succeeded", 10)
    assert phase(fake_kube, "elsewhere") == "Pending" and phase(fake_kube, "custom") == "Pending"
    assert not fake_kube.get_object("v1", "Pod", "custom")["spec"].get("nodeName")
    node = fake_kube.get_object("v1", "Node", "fake-node")
    assert node["status"]["conditions"][0]["type"] == "Ready"
