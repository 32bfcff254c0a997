"""Issue 19, a notebook's own server: password login, idle-server cull and a hostile /api/status, on a FakeCluster.

The controller binary runs on the host (as in tests/controller) against a FakeCluster: the notebook Deployment's pod
runs the venv's real jupyter_server (the notebook image is not built here), reached through its Service's cluster IP
(the kube-proxy double), as the controller reaches it. What is checked:

- ``auth.password``: the notebook Secret holds only a salted hash (jupyter_server's own ``passwd_check`` accepts it),
  mounted as jupyter_server config; logging in with the password works, a wrong one does not; the hash (its salt)
  stays the same across reconciles and restarts;
- ``cullIdleServerAfter``: a server kept busy is not culled; left idle, it is stopped as ``stopped: true`` does
  (0 replicas, condition ``Culled``, annotation, Event, ``status.culledAt``), and one merge patch of
  ``stopped: false`` starts it again;
- a notebook whose server answers /api/status with garbage, a huge body or not at all keeps running with a
  condition ``IdleCheckFailed`` naming why, and the controller keeps serving the other notebooks.

Short timings (a few seconds), every wait bounded, everything stopped at teardown.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from fakekube.cluster import FakeCluster
from fakekube.pytest_plugin import fake_kube_factory

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "controller"))
from support import Controller, wait_until  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
NS = "default"
GROUP_PATH = "/apis/kubeflow.tkestack.io/v1alpha1/namespaces/default/jupyternotebooks"
PASSWORD = "correct horse battery staple"
CULL_AFTER = 6

# A notebook server that answers /api/status badly: argv[1] is garbage | huge | slow.
HOSTILE_SERVER = r"""
import http.server, sys, time
mode = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if mode == "slow":
            time.sleep(30)
        body = {"garbage": b"<html>not json", "huge": b'{"last_activity": "' + b"9" * 4_000_000 + b'"}'}.get(mode, b"{}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if mode != "huge":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8888), H).serve_forever()
"""


def notebook_command(argv: list[str], pod: dict, container: dict) -> list[str]:
    """The notebook image's own start command (the pod gives none) -> the venv's jupyter_server."""
    if not argv and container.get("name") == "notebook":
        return [str(VENV_BIN / "jupyter-server"), "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root",
                "--ServerApp.root_dir=/tmp", "--ServerApp.allow_remote_access=True"]
    return argv


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with contextlib.contextmanager(fake_kube_factory.__wrapped__)(tmp_path_factory) as factory:
        server = factory(tls=True, token="nb-" + os.urandom(8).hex(), graceful_pod_deletion=True)
        for f in sorted((REPO / "crds").glob("kubeflow*.yaml")):
            for doc in yaml.safe_load_all(f.read_text()):
                if doc:
                    server.create_object(doc)
        tmp = tmp_path_factory.mktemp("nbserver")
        cluster = FakeCluster(server, [{"name": "node-a"}], command_rewrite=notebook_command, workdir=tmp / "cluster",
                              shared_paths=[sys.base_prefix, str(VENV_BIN.parent)])
        cluster.start()
        controller = None
        try:
            kubeconfig = server.write_kubeconfig(tmp / "admin.kubeconfig")
            controller = Controller(kubeconfig, tmp, name="controller-nbserver").wait_ready(timeout=60)
            yield {"server": server, "cluster": cluster, "api": cluster.client, "controller": controller}
        finally:
            if controller is not None:
                assert controller.stop() == 0
            cluster.stop()


def notebook(api, name: str) -> dict:
    return api.get(f"{GROUP_PATH}/{name}")


def conditions(api, name: str) -> dict[str, dict]:
    return {c["type"]: c for c in (notebook(api, name).get("status") or {}).get("conditions") or []}


def secret_data(api, name: str) -> dict[str, str]:
    data = api.get(f"/api/v1/namespaces/{NS}/secrets/{name}").get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def base_url(world, name: str) -> str:
    return f"http://{world['cluster'].service_ip(NS, name)}:8888"


def running_pods(world, name: str) -> list[dict]:
    return [p for p in world["cluster"].pods() if p["namespace"] == NS and p["name"].startswith(name + "-")
            and p.get("phase") == "Running"]


def server_up(url: str, token: str) -> bool:
    try:
        return requests.get(f"{url}/api/status", headers={"Authorization": f"token {token}"}, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def login(url: str, password: str) -> requests.Session:
    """jupyter_server's login form: GET /login for the _xsrf cookie, POST the password; a session that is logged in
    carries the server's user cookie."""
    http = requests.Session()
    http.get(f"{url}/login", timeout=10)
    xsrf = http.cookies.get("_xsrf", "")
    http.post(f"{url}/login?next=%2F", data={"password": password, "_xsrf": xsrf}, timeout=10, allow_redirects=False)
    return http


def replicas(api, name: str) -> int:
    return api.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{name}")["spec"]["replicas"]


def log(world) -> str:
    return world["controller"].process.log_tail(40)


def test_password_login_and_idle_cull_of_a_real_server(world):
    api = world["api"]
    api.post(GROUP_PATH, {"apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": "JupyterNotebook",
                          "metadata": {"name": "lab"},
                          "spec": {"storage": {"enabled": False}, "auth": {"password": PASSWORD},
                                   "cullIdleServerAfter": CULL_AFTER}})
    data = wait_until(lambda: (d := secret_data(api, "lab-jupyter")).get("jupyter_server_config.json") and d,
                      timeout=30, message="the notebook Secret with the password config", details=lambda: log(world))
    token = data["token"]
    hashed = json.loads(data["jupyter_server_config.json"])["PasswordIdentityProvider"]["hashed_password"]
    assert re.fullmatch(r"sha256:[0-9a-f]{12}:[0-9a-f]{64}", hashed), hashed
    from jupyter_server.auth.security import passwd_check
    assert passwd_check(hashed, PASSWORD) and not passwd_check(hashed, PASSWORD + "!"), "jupyter_server's own check"
    deployment = api.get(f"/apis/apps/v1/namespaces/{NS}/deployments/lab")
    assert PASSWORD not in json.dumps(deployment) and PASSWORD not in json.dumps(data), "the clear text is nowhere"

    url = base_url(world, "lab")
    wait_until(lambda: server_up(url, token), timeout=60, interval=0.5, message="jupyter_server up by its Service",
               details=lambda: log(world))
    # the password logs in (the server's user cookie opens the API); a wrong one does not
    good = login(url, PASSWORD)
    assert good.get(f"{url}/api/contents", timeout=10).status_code == 200
    bad = login(url, "wrong")
    assert bad.get(f"{url}/api/contents", timeout=10).status_code == 403

    # kept busy (an API call every second) for longer than the limit: never culled
    busy_until = time.monotonic() + CULL_AFTER + 4
    while time.monotonic() < busy_until:
        assert good.get(f"{url}/api/contents", timeout=10).status_code == 200
        assert notebook(api, "lab")["spec"].get("stopped") is not True, "culled while in use"
        time.sleep(1)
    status = notebook(api, "lab")["status"]
    assert status.get("lastActivity") and status["stopped"] is False, status

    # left idle: stopped as stopped: true does, and why is recorded
    wait_until(lambda: notebook(api, "lab")["spec"].get("stopped") is True, timeout=CULL_AFTER + 30, interval=0.5,
               message="the idle notebook culled", details=lambda: log(world))
    nb = notebook(api, "lab")
    idle = int(nb["metadata"]["annotations"]["elastic-jupyter.io/culled-idle-seconds"])
    assert idle >= CULL_AFTER, nb["metadata"]["annotations"]
    found = wait_until(lambda: conditions(api, "lab").get("Culled"), timeout=20, message="condition Culled")
    assert found["status"] == "True" and "spec.stopped: false" in found["message"], found
    wait_until(lambda: replicas(api, "lab") == 0 and not running_pods(world, "lab"), timeout=40,
               message="the culled notebook scaled to zero", details=lambda: log(world))
    status = wait_until(lambda: (s := notebook(api, "lab")["status"]).get("phase") == "Stopped" and s, timeout=20,
                        message="phase Stopped")
    assert status["stopped"] is True and status["culledAt"] == nb["metadata"]["annotations"]["elastic-jupyter.io/culled-at"]
    events = api.get(f"/api/v1/namespaces/{NS}/events")["items"]
    assert any(e.get("reason") == "Culled" and e["involvedObject"]["name"] == "lab" for e in events)

    # one patch starts it again: the same password (same hash) logs in, the cull mark goes
    api.merge_patch(f"{GROUP_PATH}/lab", {"spec": {"stopped": False}})
    wait_until(lambda: server_up(url, token), timeout=60, interval=0.5, message="the notebook running again",
               details=lambda: log(world))
    assert login(url, PASSWORD).get(f"{url}/api/contents", timeout=10).status_code == 200
    wait_until(lambda: "elastic-jupyter.io/culled-at" not in (notebook(api, "lab")["metadata"].get("annotations") or {})
               and "Culled" not in conditions(api, "lab"), timeout=20, message="the cull mark removed")
    again = json.loads(secret_data(api, "lab-jupyter")["jupyter_server_config.json"])
    assert again["PasswordIdentityProvider"]["hashed_password"] == hashed, "the salt is kept: no needless pod roll"


@pytest.mark.parametrize("mode, reason", [("garbage", "StatusMalformed"), ("huge", "StatusTooLarge"),
                                          ("slow", "StatusTimeout")])
def test_a_hostile_status_answer_is_a_condition_not_a_cull_or_a_stall(world, mode, reason):
    api = world["api"]
    name = f"hostile-{mode}"
    api.post(GROUP_PATH, {"apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": "JupyterNotebook",
                          "metadata": {"name": name},
                          "spec": {"storage": {"enabled": False}, "cullIdleServerAfter": 2, "template": {"spec": {
                              "containers": [{"name": "notebook", "command": ["python3", "-c", HOSTILE_SERVER, mode]}]}}}})
    # (a first probe may meet the pod's port before its server answers: unreachable, asked again 30 s later)
    found = wait_until(lambda: (c := conditions(api, name).get("IdleCheckFailed")) and c["reason"] == reason and c,
                       timeout=90, interval=0.5, message=f"IdleCheckFailed {reason} for {mode}",
                       details=lambda: f"{conditions(api, name)}\n{log(world)}")
    assert found["status"] == "True", found
    # still running, not culled; and the controller still serves other notebooks (a spec change is reconciled)
    assert notebook(api, name)["spec"].get("stopped") is not True and replicas(api, name) == 1
    assert running_pods(world, name)
    api.merge_patch(f"{GROUP_PATH}/{name}", {"spec": {"service": {"annotations": {"probe": mode}}}})
    wait_until(lambda: api.get(f"/api/v1/namespaces/{NS}/services/{name}")["metadata"].get("annotations", {}).get("probe") == mode,
               timeout=20, message="a later change reconciled", details=lambda: log(world))
    assert world["controller"].process.alive
    api.delete(f"{GROUP_PATH}/{name}")
