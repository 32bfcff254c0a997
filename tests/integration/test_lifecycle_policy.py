"""Kernel lifecycle policy (issue 3): activity model, idle culling, limits, users sharing one gateway.

Culling runs with timeouts of a few seconds and a sub-second cull interval; every wait is bounded with a
wide margin. (The decision logic itself is unit-tested with an injectable clock in Swift.)"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from helpers import KernelWS, parent_id, pid_alive, wait_until
from procs import VENV_PY, Gateway, GatewayConfig, JupyterServer, write_kernelspecs, _spec

pytestmark = pytest.mark.ej_only

CULL = ["--cull-interval", "0.3"]


def policy_specs() -> dict[str, dict]:
    slow = _spec(VENV_PY, "Slow to start")
    slow["argv"] = [str(VENV_PY), "-c",
                    "import runpy, sys, time; time.sleep(4); "
                    "sys.argv = ['ipykernel_launcher', '-f', sys.argv[1]]; "
                    "runpy.run_module('ipykernel_launcher', run_name='__main__')",
                    "{connection_file}"]
    return {
        "python3": _spec(VENV_PY, "Python 3"),
        # GPU-like: a short timeout and cull-connected on, set by the kernelspec itself
        "gpu_like": _spec(VENV_PY, "GPU-like", metadata={"elastic_jupyter": {
            "cull_idle_timeout": 3, "cull_connected": True}}),
        "slow_start": slow,
        # a profile with a maximum age of its own (JupyterKernelSpec spec.cull.maxAge renders this)
        "short_lived": _spec(VENV_PY, "Short-lived", metadata={"elastic_jupyter": {"cull_max_age": 4}}),
    }


@pytest.fixture(scope="module")
def specs_dir(tmp_path_factory) -> Path:
    return write_kernelspecs(tmp_path_factory.mktemp("policy-specs") / "kernels", policy_specs())


@pytest.fixture(scope="module")
def start_gateway(specs_dir, log_dir, tmp_path_factory):
    started: list[Gateway] = []

    def start(*args: str, **config) -> Gateway:
        root = tmp_path_factory.mktemp("policy-root")
        g = Gateway(GatewayConfig(kernelspec_dirs=[specs_dir], root_dir=root, extra_args=list(args), **config),
                    log_dir, "policy").start()
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()


def kernel_pid(ws: KernelWS) -> int:
    return int(ws.execute_ok("import os; print(os.getpid())").strip())


def gone(g: Gateway, kernel_id: str) -> bool:
    return g.rest.get(f"api/kernels/{kernel_id}").status_code == 404


def model(g: Gateway, kernel_id: str) -> dict:
    r = g.rest.get(f"api/kernels/{kernel_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_idle_kernel_is_culled_and_its_process_is_gone(start_gateway, kernels):
    g = start_gateway("--cull-idle-timeout", "2", *CULL)
    k = kernels.start(g)
    ws = kernels.ws(g, k["id"])
    pid = kernel_pid(ws)
    ws.close()
    wait_until(lambda: gone(g, k["id"]), 20, what="idle kernel to be culled")
    wait_until(lambda: not pid_alive(pid), 15, what="culled kernel process to exit")
    assert re.search(rf"culling kernel.*{k['id']}|kernel_id={k['id']}.*culling", g.log_tail(400)) or "culling kernel" in g.log_tail(400)


def test_connected_kernel_is_kept_unless_cull_connected(start_gateway, kernels):
    kept = start_gateway("--cull-idle-timeout", "2", *CULL)
    k = kernels.start(kept)
    ws = kernels.ws(kept, k["id"])
    ws.kernel_info()
    time.sleep(5)
    assert model(kept, k["id"])["connections"] == 1

    culling = start_gateway("--cull-idle-timeout", "2", "--cull-connected", *CULL)
    k2 = kernels.start(culling)
    ws2 = kernels.ws(culling, k2["id"])
    pid = kernel_pid(ws2)
    dead = ws2.wait_for(lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "dead", 20,
                        what="dead status")
    assert dead["channel"] == "iopub"
    closed = ws2.wait_closed(15)
    assert "culled" in closed.reason.lower()
    wait_until(lambda: gone(culling, k2["id"]), 10, what="culled kernel to disappear")
    wait_until(lambda: not pid_alive(pid), 15, what="kernel process to exit")


def test_busy_kernel_is_kept_unless_cull_busy(start_gateway, kernels):
    kept = start_gateway("--cull-idle-timeout", "2", *CULL)
    k = kernels.start(kept)
    ws = kernels.ws(kept, k["id"])
    ws.send_execute("import time; time.sleep(30)")
    ws.wait_for(lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy", 15)
    ws.close()
    time.sleep(5)
    assert model(kept, k["id"])["execution_state"] == "busy"

    culling = start_gateway("--cull-idle-timeout", "2", "--cull-busy", *CULL)
    k2 = kernels.start(culling)
    ws2 = kernels.ws(culling, k2["id"])
    ws2.send_execute("import time; time.sleep(30)")
    ws2.wait_for(lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "busy", 15)
    ws2.close()
    wait_until(lambda: gone(culling, k2["id"]), 20, what="busy kernel to be culled with --cull-busy")


def test_polling_client_does_not_keep_a_gpu_kernel_alive(start_gateway, kernels):
    # Global culling is off; the GPU-like kernelspec turns it on for itself, connected clients included.
    g = start_gateway(*CULL)
    k = kernels.start(g, "gpu_like")
    ws = kernels.ws(g, k["id"])
    pid = kernel_pid(ws)
    deadline = time.monotonic() + 25
    culled = False
    while time.monotonic() < deadline:
        # what JupyterLab does while a tab stays open: kernel_info on (re)connect, resource-usage polling
        try:
            ws.send_msg("shell", "kernel_info_request")
            ws.send_msg("control", "usage_request")
            ws.drain(0.5)
        except Exception:
            pass
        if ws.closed or gone(g, k["id"]):
            culled = True
            break
    assert culled, "a polling client kept the GPU-like kernel alive"
    wait_until(lambda: gone(g, k["id"]), 10, what="kernel to disappear")
    wait_until(lambda: not pid_alive(pid), 15, what="kernel process to exit")


def test_user_activity_resets_the_idle_clock(start_gateway, kernels):
    g = start_gateway("--cull-idle-timeout", "3", "--cull-connected", *CULL)
    k = kernels.start(g)
    ws = kernels.ws(g, k["id"])
    for i in range(6):  # 6 × 1.2 s = 7.2 s > 2 × timeout, but never 3 s idle
        assert ws.execute_ok(f"print({i})").strip() == str(i)
        time.sleep(1.2)
    assert model(g, k["id"])["execution_state"] in ("idle", "busy")
    wait_until(lambda: gone(g, k["id"]), 20, what="kernel to be culled once activity stops")


def test_a_starting_kernel_is_never_culled(start_gateway, kernels):
    g = start_gateway("--cull-idle-timeout", "1", "--cull-connected", "--cull-busy", *CULL)
    started = time.monotonic()
    k = kernels.start(g, "slow_start")
    assert time.monotonic() - started >= 3.5, "the slow kernelspec should take ~4 s to start"
    assert k["execution_state"] != "dead"


def keep_working_until_gone(g, ws, kernel_id: str, seconds: float = 25) -> None:
    """Executes on the kernel every 0.3 s (it is never idle) until it is gone, its socket closes, or time is up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not gone(g, kernel_id):
        try:
            ws.execute("print('still busy with work')", timeout=5)
        except Exception:
            break
        time.sleep(0.3)


def test_max_age_culls_an_active_kernel(start_gateway, kernels):
    g = start_gateway("--cull-max-age", "4", *CULL)
    k = kernels.start(g)
    ws = kernels.ws(g, k["id"])
    keep_working_until_gone(g, ws, k["id"])
    wait_until(lambda: gone(g, k["id"]), 10, what="kernel to be culled by age")


def test_a_kernelspecs_max_age_culls_its_active_kernels_only(start_gateway, kernels):
    g = start_gateway(*CULL)  # no global maximum age
    k = kernels.start(g, "short_lived")
    other = kernels.start(g)
    ws = kernels.ws(g, k["id"])
    keep_working_until_gone(g, ws, k["id"])
    wait_until(lambda: gone(g, k["id"]), 10, what="the short-lived kernelspec's kernel to be culled by age")
    assert not gone(g, other["id"]), "a kernel of another kernelspec keeps the gateway's setting (no maximum age)"


def test_limits_hold_under_concurrent_starts(start_gateway, kernels):
    g = start_gateway("--max-kernels", "3")

    def post(_):
        return requests.post(g.rest.url("api/kernels"), json={"name": "python3"}, timeout=90)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(post, range(10)))
    for r in responses:
        if r.status_code == 201:
            kernels.track(g.rest, r.json()["id"])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [403] * 7, codes
    refused = [r.json() for r in responses if r.status_code == 403]
    assert all("max-kernels = 3" in body["message"] for body in refused), refused[0]
    assert len(g.rest.get("api/kernels").json()) == 3


def test_per_user_limit_and_listing_by_user(start_gateway, kernels):
    g = start_gateway("--max-kernels-per-user", "1", "--unauthorized-users", "mallory")
    bob = kernels.start(g, env={"KERNEL_USERNAME": "bob"})
    refused = g.rest.post("api/kernels", json={"name": "python3", "env": {"KERNEL_USERNAME": "bob"}})
    assert refused.status_code == 403
    assert "max-kernels-per-user = 1" in refused.json()["message"] and "bob" in refused.json()["message"]
    alice = kernels.start(g, env={"KERNEL_USERNAME": "alice"})
    mallory = g.rest.post("api/kernels", json={"name": "python3", "env": {"KERNEL_USERNAME": "mallory"}})
    assert mallory.status_code == 403 and "mallory" in mallory.json()["message"]
    assert [m["id"] for m in g.rest.get("api/kernels", params={"user": "bob"}).json()] == [bob["id"]]
    assert [m["id"] for m in g.rest.get("api/kernels", params={"user": "alice"}).json()] == [alice["id"]]
    assert {m["id"] for m in g.rest.get("api/kernels").json()} == {bob["id"], alice["id"]}
    specs = g.rest.get("api/kernelspecs", params={"user": "mallory"}).json()
    assert specs["kernelspecs"] == {}
    assert "python3" in g.rest.get("api/kernelspecs", params={"user": "bob"}).json()["kernelspecs"]


def test_model_fields_are_right_at_each_step(start_gateway, kernels):
    g = start_gateway()
    k = kernels.start(g)
    m0 = model(g, k["id"])
    assert m0["connections"] == 0
    wait_until(lambda: model(g, k["id"])["execution_state"] == "idle", 10, what="idle after start")
    ws = kernels.ws(g, k["id"])
    wait_until(lambda: model(g, k["id"])["connections"] == 1, 5, what="connections == 1")
    # housekeeping does not move last_activity
    before = model(g, k["id"])["last_activity"]
    time.sleep(0.2)
    ws.kernel_info()
    ws.drain(0.5)
    assert model(g, k["id"])["last_activity"] == before
    # user activity does, and a busy kernel reads busy (never starting)
    ws.send_execute("import time; time.sleep(2)")
    wait_until(lambda: model(g, k["id"])["execution_state"] == "busy", 5, what="busy while executing")
    assert model(g, k["id"])["last_activity"] > before
    wait_until(lambda: model(g, k["id"])["execution_state"] == "idle", 10, what="idle after executing")
    second = kernels.ws(g, k["id"])
    wait_until(lambda: model(g, k["id"])["connections"] == 2, 5, what="connections == 2")
    second.close()
    ws.close()
    wait_until(lambda: model(g, k["id"])["connections"] == 0, 5, what="connections == 0")


def test_two_jupyter_servers_as_two_users_share_one_gateway(start_gateway, log_dir, tmp_path_factory):
    g = start_gateway("--max-kernels-per-user", "1", "--cull-idle-timeout", "4", *CULL)
    servers = []
    try:
        for user in ("alice", "bob"):
            root = tmp_path_factory.mktemp(f"js-{user}")
            js = JupyterServer(g, root, log_dir, env={"KERNEL_USERNAME": user})
            servers.append(js.start())
        ids = {}
        for js, user in zip(servers, ("alice", "bob")):
            r = js.rest.post("api/sessions", json={"path": f"{user}.ipynb", "type": "notebook", "name": user,
                                                   "kernel": {"name": "python3"}})
            assert r.status_code == 201, r.text
            ids[user] = r.json()["kernel"]["id"]
            with KernelWS(f"ws://127.0.0.1:{js.port}/api/kernels/{ids[user]}/channels", token=js.token) as ws:
                assert ws.execute_ok(f"print('hello {user}')").strip() == f"hello {user}"
            # a second kernel for the same user is refused by the per-user limit
            second = js.rest.post("api/sessions", json={"path": f"{user}-2.ipynb", "type": "notebook",
                                                        "kernel": {"name": "python3"}})
            assert second.status_code >= 400
        assert [m["id"] for m in g.rest.get("api/kernels", params={"user": "alice"}).json()] == [ids["alice"]]
        assert [m["id"] for m in g.rest.get("api/kernels", params={"user": "bob"}).json()] == [ids["bob"]]
        # both idle, nobody connected: both culled
        wait_until(lambda: g.rest.get("api/kernels").json() == [], 30, what="both users' kernels culled")
    finally:
        for js in servers:
            js.stop()
