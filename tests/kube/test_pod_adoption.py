"""Issue 16: pod kernels outlive their gateway. A gateway that is killed (``kill -9``) or stopped (SIGTERM) leaves
its kernel pods and their connection Secrets running; the next gateway process with the same kubeconfig,
namespace and ``--gateway-name`` adopts them (same ids, same kernelspec, state and output kept) without creating
or deleting any Pod or Secret, and culls the ones nobody uses by the normal idle rule, from the last activity the
pods carry (annotation ``elastic-jupyter.io/last-activity``, else the pod's start).

``--shutdown-kernels-on-exit`` / ``--no-shutdown-kernels-on-exit`` (``EJ_SHUTDOWN_KERNELS_ON_EXIT``) overrides the
default: on for local kernels (the gateway's children), off for pod kernels.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import podkit
from helpers import KernelWS, pid_alive
from podkit import (COUNTER_CODE, kernel_object_uids, kill_hard, listed_kernels, pod_secret_creations_and_deletions,
                    successor, terminate, ticks, wait_until)
from procs import JupyterServer


ADOPTION_DEADLINE = 10  # seconds from the new gateway process' start until it lists every adopted kernel
LAST_ACTIVITY = "elastic-jupyter.io/last-activity"


def write_local_kernelspec(root, name="local_python"):
    """A local-process kernelspec (real ipykernel) next to the pod ones: the same gateway runs both kinds."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "kernel.json").write_text(json.dumps({"argv": podkit.IPYKERNEL_ARGV, "display_name": "local python",
                                               "language": "python"}))
    return name


def wait_adopted(gw, expected: dict[str, str], t0: float) -> float:
    """Wait until ``gw`` lists every kernel of ``expected`` ({id: kernelspec name}) with that kernelspec, at most
    ADOPTION_DEADLINE s after ``t0`` (the time its process was started); returns the seconds it took."""
    seen: dict[str, str] = {}

    def adopted():
        seen.clear()
        seen.update(listed_kernels(gw))
        return all(seen.get(kid) == name for kid, name in expected.items())

    try:
        wait_until(adopted, max(0.5, t0 + ADOPTION_DEADLINE - time.monotonic()), 0.1, what="the adopted kernels")
    except AssertionError:
        raise AssertionError(f"{ADOPTION_DEADLINE} s after the new gateway started it lists {seen}, expected at "
                             f"least {expected}\n{gw.log_tail(30)}") from None
    took = time.monotonic() - t0
    assert took <= ADOPTION_DEADLINE + 0.5, f"the kernels were listed {took:.1f}s after the new gateway started"
    return took


def assert_objects_kept(cluster, before: dict[str, str], mark: int, when: str):
    """The kernel Pods and Secrets of ``before`` are all still there (same uids, pods Running, not being deleted)
    and no gateway created or deleted a Pod or Secret since request ``mark``."""
    now = kernel_object_uids(cluster)
    changed = {ref: (uid, now.get(ref)) for ref, uid in before.items() if now.get(ref) != uid}
    assert not changed, f"{when}: kernel objects gone or replaced (old uid, new uid): {changed}"
    for ref in before:
        if ref.startswith("Pod/"):
            pod = cluster.pod(ref[4:])
            assert pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"), \
                f"{when}: {ref} is {pod['status'].get('phase')}, deletionTimestamp={pod['metadata'].get('deletionTimestamp')}"
    writes = pod_secret_creations_and_deletions(cluster, mark)
    assert writes == [], f"{when}: Pods or Secrets created or deleted: {writes}"


def more_ticks(ws: KernelWS, into: list[int]) -> list[int]:
    """Add the counter values that arrive on ``ws`` within 0.3 s to ``into``; returns ``into``."""
    into.extend(ticks(ws.drain(0.3)))
    return into


def parse_time(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def activity_basis(pod: dict) -> float:
    """What an adopting gateway must take as the kernel's last activity: the annotation, else the pod's start."""
    annotated = (pod["metadata"].get("annotations") or {}).get(LAST_ACTIVITY)
    return parse_time(annotated or pod["status"]["startTime"])


# --------------------------------------------------------------------------------------------
# the first "Done when": kill -9 with 5 kernels, a real jupyter_server in front
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_with_five_kernels_then_a_new_gateway_adopts_them_behind_jupyter_server(
        cluster, specs_dir, gateways, log_dir, tmp_path):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-adopt")
    root = tmp_path / "js-root"
    root.mkdir()
    # jupyter_server re-dials a gateway WebSocket that dropped (GatewayWebSocketConnection, retries with back-off):
    # the notebook-side retry settings the controller sets keep the pauses short
    js = JupyterServer(gw, root, log_dir, env={"JUPYTER_GATEWAY_RETRY_INTERVAL": "0.5",
                                               "JUPYTER_GATEWAY_RETRY_INTERVAL_MAX": "2",
                                               "JUPYTER_GATEWAY_RETRY_MAX": "10"})
    sockets: list[KernelWS] = []
    try:
        js.start()

        def start(_):
            r = js.rest.post("api/kernels", json={"name": "pod_python"}, timeout=90)
            assert r.status_code == 201, f"{r.status_code} {r.text[:300]}"
            return r.json()["id"]

        with ThreadPoolExecutor(max_workers=5) as pool:
            ids = list(pool.map(start, range(5)))
        assert len(set(ids)) == 5 and len(cluster.pods(gateway="gw-adopt")) == 5
        expected = listed_kernels(gw)
        assert set(expected) == set(ids) and set(expected.values()) == {"pod_python"}, expected

        # through jupyter_server: one kernel holds x = 42, one prints a counter every 100 ms
        ws_x = KernelWS(js.ws_url(ids[0]), token=js.token)
        sockets.append(ws_x)
        ws_x.execute_ok("x = 42", timeout=60)
        ws_c = KernelWS(js.ws_url(ids[1]), token=js.token)
        sockets.append(ws_c)
        assert ws_c.execute("pass", timeout=60).status == "ok"  # its socket is up before the counter starts
        ws_c.execute_ok(COUNTER_CODE)
        before_kill: list[int] = []
        wait_until(lambda: len(more_ticks(ws_c, before_kill)) >= 5, 20, 0,
                   what="the counter's output through the first gateway")

        objects = kernel_object_uids(cluster, "gw-adopt")
        assert len(objects) == 10, objects  # 5 pods, 5 Secrets
        mark = cluster.last_seq()
        kill_hard(gw)
        more_ticks(ws_c, before_kill)  # whatever was still on its way
        last_before = max(before_kill)

        t0 = time.monotonic()
        new = successor(gateways, gw)  # same port: jupyter_server's --gateway-url
        wait_adopted(new, expected, t0)

        # jupyter_server's WebSockets reconnected to the new gateway: the counter's later output arrives
        after: list[int] = []
        wait_until(lambda: any(n > last_before for n in more_ticks(ws_c, after)), 30, 0,
                   what=f"counter output after tick {last_before} through the new gateway")
        later = [n for n in after if n > last_before]
        assert later == sorted(later), f"counter output out of order: {later}"
        # ... and the kernel that held x still holds it (the first requests may go to the dropped connection)
        wait_until(lambda: ws_x.kernel_info(timeout=2)["content"]["status"] == "ok", 30, 0,
                   what="kernel_info through jupyter_server's reconnected WebSocket")
        assert ws_x.execute_ok("print(x)").strip() == "42"

        # every kernel answers through the new gateway, and jupyter_server lists all five
        for kid in ids:
            with new.ws(kid) as ws:
                assert ws.kernel_info(timeout=20)["content"]["status"] == "ok", kid
        js_listed = {k["id"] for k in js.rest.get("api/kernels", timeout=30).json()}
        assert set(ids) <= js_listed, js_listed

        # the restart created and deleted no kernel Pod or Secret
        assert_objects_kept(cluster, objects, mark, "after the restart")
    finally:
        for s in sockets:
            s.close()
        js.stop()
    # jupyter_server shuts its kernels down when it stops; whatever is left goes now
    with ThreadPoolExecutor(max_workers=5) as pool:
        codes = list(pool.map(lambda kid: gateways.started[-1].rest.delete(f"api/kernels/{kid}", timeout=60).status_code,
                              ids))
    assert set(codes) <= {204, 404}, codes
    cluster.wait_clean(timeout=30)


# --------------------------------------------------------------------------------------------
# SIGTERM: pods stay, WebSockets close with 1001, local kernels stop
# --------------------------------------------------------------------------------------------


def test_sigterm_leaves_pod_kernels_running_for_the_next_gateway(cluster, specs_dir, gateways):
    local = write_local_kernelspec(specs_dir)
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-term")
    k_py = gw.start_kernel("pod_python")
    k_echo = gw.start_kernel("pod_echo")
    k_local = gw.start_kernel(local)
    expected = {k_py: "pod_python", k_echo: "pod_echo"}
    assert cluster.kernel_pod(k_local) is None  # a local process, not a pod
    ws_py, ws_echo, ws_local = gw.ws(k_py), gw.ws(k_echo), gw.ws(k_local)
    local_pid = None
    try:
        ws_py.execute_ok("x = 42")
        assert ws_echo.kernel_info()["content"]["status"] == "ok"
        local_pid = int(ws_local.execute_ok("import os; print(os.getpid())"))
        objects = kernel_object_uids(cluster, "gw-term")
        assert len(objects) == 4, objects
        mark = cluster.last_seq()

        code = terminate(gw, 30)
        assert code == 0, f"exit code {code} (None: still running 30 s after SIGTERM)\n{gw.log_tail(30)}"
        # the pod kernels' WebSockets were closed as "going away" (the client may reconnect elsewhere)
        closes = {k: ws.wait_closed(5) for k, ws in ((k_py, ws_py), (k_echo, ws_echo))}
        assert {k: c.code for k, c in closes.items()} == {k_py: 1001, k_echo: 1001}, closes
        # the local kernel, a child of the gateway, stopped with it (as before)
        wait_until(lambda: not pid_alive(local_pid), 15, what=f"the local kernel process {local_pid} to exit")
        # the pods and their Secrets were left running, nothing deleted
        assert_objects_kept(cluster, objects, mark, "after SIGTERM")

        t0 = time.monotonic()
        new = successor(gateways, gw, same_port=False)
        wait_adopted(new, expected, t0)
        assert k_local not in listed_kernels(new)  # the local kernel is gone for good
        with new.ws(k_py) as ws:
            assert ws.execute_ok("print(x)").strip() == "42"
        with new.ws(k_echo) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"
        assert_objects_kept(cluster, objects, mark, "after the adoption")
    finally:
        for ws in (ws_py, ws_echo, ws_local):
            ws.close()
        if local_pid and pid_alive(local_pid):
            os.kill(local_pid, signal.SIGKILL)
    new = gateways.started[-1]
    for kid in expected:
        assert new.rest.delete(f"api/kernels/{kid}", timeout=60).status_code == 204
    cluster.wait_clean()


@pytest.mark.parametrize("args, env, deleted", [
    pytest.param(["--shutdown-kernels-on-exit"], {}, True, id="flag-on"),
    pytest.param([], {"EJ_SHUTDOWN_KERNELS_ON_EXIT": "true"}, True, id="env-true"),
    pytest.param(["--no-shutdown-kernels-on-exit"], {}, False, id="flag-off"),
    pytest.param([], {"EJ_SHUTDOWN_KERNELS_ON_EXIT": "false"}, False, id="env-false"),
])
def test_shutdown_kernels_on_exit_setting(cluster, specs_dir, gateways, args, env, deleted):
    """Explicitly on, SIGTERM shuts the pod kernels down (pods and Secrets deleted) as before; off, they stay."""
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-exit", extra_args=args, env=env)
    ids = [gw.start_kernel("pod_echo") for _ in range(2)]
    objects = kernel_object_uids(cluster, "gw-exit")
    assert len(objects) == 4, objects
    mark = cluster.last_seq()
    code = terminate(gw, 30)
    assert code == 0, f"exit code {code} (None: still running 30 s after SIGTERM)\n{gw.log_tail(30)}"
    if deleted:
        cluster.wait_clean(gateway="gw-exit", timeout=10)
        assert not cluster.gateway_requests(since=mark, method="POST"), "created something while stopping"
    else:
        assert_objects_kept(cluster, objects, mark, "after SIGTERM")
        t0 = time.monotonic()
        new = successor(gateways, gw, same_port=False)
        wait_adopted(new, dict.fromkeys(ids, "pod_echo"), t0)
        for kid in ids:
            assert new.rest.delete(f"api/kernels/{kid}", timeout=60).status_code == 204
        cluster.wait_clean()


def test_local_kernels_still_stop_on_sigterm(cluster, specs_dir, gateways):
    """With local kernels nothing changes: SIGTERM stops them, and the gateway exits 0. (No other test sends the
    gateway SIGTERM with a local kernel running: tests/integration's Gateway.stop() SIGKILLs the process group
    afterwards, which would hide a kernel left behind.)"""
    local = write_local_kernelspec(specs_dir)
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-local")
    kid = gw.start_kernel(local)
    with gw.ws(kid) as ws:
        pid = int(ws.execute_ok("import os; print(os.getpid())"))
    try:
        code = terminate(gw, 30)
        assert code == 0, f"exit code {code} (None: still running 30 s after SIGTERM)\n{gw.log_tail(30)}"
        wait_until(lambda: not pid_alive(pid), 15, what=f"the local kernel process {pid} to exit")
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert cluster.kernel_objects() == []


# --------------------------------------------------------------------------------------------
# culling kernels a gateway left behind; kernels that do not answer
# --------------------------------------------------------------------------------------------


def test_kernel_left_by_a_gateway_that_never_returns_is_culled_by_the_next(cluster, specs_dir, gateways):
    timeout = 12
    # another gateway's idle kernel in the same namespace: not adopted, not culled, not touched
    other = gateways(specs_dir, cluster.kubeconfig, name="gw-other")
    k_other = other.start_kernel("pod_echo")
    other_pod = cluster.kernel_pod(k_other)["metadata"]
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-gone")
    kernels = {role: gw.start_kernel("pod_echo") for role in ("old", "annotated", "bare")}
    for kid in kernels.values():  # used once, as a client would
        with gw.ws(kid) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"
    pods = {role: cluster.kernel_pod(kid)["metadata"]["name"] for role, kid in kernels.items()}
    kill_hard(gw)
    mark = cluster.last_seq()

    # what the gone gateway left on the pods (it writes the annotation at most once a minute): "old" was last used
    # two hours ago, "annotated" just now (to the microsecond, unlike a pod's start), "bare" has no annotation and
    # is idle since its pod started
    now = datetime.datetime.now(datetime.timezone.utc)
    for role, when in (("old", now - datetime.timedelta(hours=2)), ("annotated", now), ("bare", None)):
        value = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else None
        cluster.kube.patch_object("v1", "Pod", pods[role], {"metadata": {"annotations": {LAST_ACTIVITY: value}}},
                                  cluster.namespace)
    basis = {role: activity_basis(cluster.pod(name)) for role, name in pods.items()}
    assert basis["annotated"] == now.timestamp() and basis["annotated"] > basis["bare"], basis

    t_start = time.time()
    t0 = time.monotonic()
    new = successor(gateways, gw, same_port=False, extra_args=["--cull-idle-timeout", str(timeout),
                                                                "--cull-interval", "1"])
    gone_at: dict[str, float] = {}
    models: dict[str, dict] = {}
    deadline = t0 + ADOPTION_DEADLINE + timeout + 15
    while len(gone_at) < 3 and time.monotonic() < deadline:
        r = new.rest.get("api/kernels", timeout=5)
        assert r.status_code == 200, r.text
        for m in r.json():
            models.setdefault(m["id"], m)
        for role, name in pods.items():
            if role not in gone_at and cluster.pod(name) is None:
                gone_at[role] = time.time()
        time.sleep(0.1)
    assert set(gone_at) == set(pods), f"not culled within {deadline - t0:.0f}s: {set(pods) - set(gone_at)}; " \
                                      f"listed: {sorted(models)}\n{new.log_tail(30)}"

    # idle time counts from the pod's last activity, not from the adoption: the kernel idle for two hours went
    # before the new gateway could have seen it idle for the timeout
    assert gone_at["old"] < t_start + timeout - 1, \
        f"the two-hour-idle kernel was culled {gone_at['old'] - t_start:.1f}s after the new gateway started"
    for role, precision in (("annotated", 0.002), ("bare", 1.5)):  # a pod's start is in whole seconds
        idle = gone_at[role] - basis[role]
        assert idle >= timeout - precision - 0.1, f"{role}: culled after {idle:.1f}s idle (timeout {timeout}s)"
        assert gone_at[role] <= max(basis[role] + timeout, t_start + ADOPTION_DEADLINE) + 10, \
            f"{role}: culled {gone_at[role] - basis[role]:.1f}s after its last activity"
        # adopted with its last activity from the pod (annotation or start), before it was culled
        assert kernels[role] in models, f"{role} was culled without being listed: {sorted(models)}"
        listed_activity = parse_time(models[kernels[role]]["last_activity"])
        assert abs(listed_activity - basis[role]) < precision, \
            f"{role}: last_activity {models[kernels[role]]['last_activity']} vs the pod's {basis[role]}"
    cluster.wait_clean(gateway="gw-gone", timeout=10)
    deletes = [q["path"] for q in cluster.gateway_requests(since=mark, method="DELETE", path=r"/pods/")]
    assert {p.rsplit("/", 1)[1] for p in deletes} == set(pods.values()), deletes
    assert new.kernel_ids() == []
    assert k_other not in models, "adopted another gateway's kernel"
    assert cluster.kernel_pod(k_other)["metadata"]["uid"] == other_pod["uid"]
    assert other.kernel_ids() == [k_other]
    assert other.rest.delete(f"api/kernels/{k_other}", timeout=60).status_code == 204
    cluster.wait_clean(timeout=10)


def test_adopted_pod_that_does_not_answer_fails_without_hanging_the_listing(cluster, specs_dir, gateways):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-stuck")
    k_ok = gw.start_kernel("pod_echo")
    k_stuck = gw.start_kernel("pod_echo")
    stuck_pod = cluster.kernel_pod(k_stuck)
    kill_hard(gw)
    # the kernel is wedged: its processes are stopped (its ports still accept connections; nothing answers)
    assert cluster.kubelet.kill(cluster.namespace, stuck_pod["metadata"]["name"], signal.SIGSTOP)

    t0 = time.monotonic()
    new = successor(gateways, gw, same_port=False, kernel_launch_timeout=10)
    wait_adopted(new, {k_ok: "pod_echo"}, t0)
    with new.ws(k_ok) as ws:
        assert ws.kernel_info(timeout=10)["content"]["status"] == "ok"

    def stuck_state() -> str | None:
        """How the wedged kernel ended up, or None while it is still unresolved (listed, not dead, no answer)."""
        listed = {k["id"]: k for k in new.rest.get("api/kernels", timeout=5).json()}  # never hangs
        assert k_ok in listed, f"the healthy kernel went: {sorted(listed)}"
        if k_stuck not in listed:
            return "dropped"
        if listed[k_stuck]["execution_state"] == "dead":
            return "dead"
        try:
            with KernelWS(new.ws_url(k_stuck), timeout=5) as ws:
                if ws.kernel_info(timeout=3)["content"]["status"] == "ok":
                    return "restarted"
        except Exception:  # noqa: BLE001 - not answering (yet)
            pass
        return None

    outcome = wait_until(stuck_state, 45, 0.2, what="the wedged kernel to be restarted or reported dead")
    # ("restarted": the stopped processes cannot answer, so an answer comes from a new kernel)
    if outcome == "dropped":  # nobody can reach it any more: its pod must not be left holding resources
        wait_until(lambda: cluster.kernel_pod(k_stuck) is None, 20, what="the dropped kernel's pod to be deleted")
    for kid in (k_ok, k_stuck):
        assert new.rest.delete(f"api/kernels/{kid}", timeout=60).status_code in (204, 404)
    cluster.wait_clean(timeout=30)


def test_forged_pod_annotations_and_a_bad_secret_are_refused_without_harm(cluster, specs_dir, gateways):
    """Adoption reads what a pod and its Secret say; both are hostile input (anyone who can patch pods in the
    namespace can write them). Oversized or malformed annotations are ignored (bounded reads), a Secret without a
    valid connection file sends its kernel down the failure path, and the other kernels are served as before."""
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-forged")
    k_ok = gw.start_kernel("pod_python")
    k_bad_secret = gw.start_kernel("pod_echo")
    with gw.ws(k_ok) as ws:
        ws.execute_ok("x = 42")
    kill_hard(gw)

    pod = cluster.kernel_pod(k_ok)
    hostile = {
        "elastic-jupyter.io/iopub-cursors": "{" * 5000 + "x" * 60000,  # deep and large: never parsed past the cap
        "elastic-jupyter.io/restarts": "9" * 40,  # far beyond Int
        "elastic-jupyter.io/last-activity": "yesterday\u001b[31m",
        "elastic-jupyter.io/owner": "r" * 2000,
    }
    cluster.kube.patch_object("v1", "Pod", pod["metadata"]["name"], {"metadata": {"annotations": hostile}},
                              cluster.namespace)
    bad_pod = cluster.kernel_pod(k_bad_secret)
    bad_pod_uid = bad_pod["metadata"]["uid"]
    secret_name = bad_pod["metadata"]["annotations"]["elastic-jupyter.io/connection-secret"]
    cluster.kube.patch_object("v1", "Secret", secret_name,
                              {"data": {"connection.json": base64.b64encode(b'{"shell_port": "no"').decode()}},
                              cluster.namespace)

    t0 = time.monotonic()
    new = successor(gateways, gw, same_port=False, kernel_launch_timeout=10)
    wait_until(lambda: k_ok in listed_kernels(new), 30, 0.2, what="the forged pod's kernel listed")
    with new.ws(k_ok) as ws:
        assert ws.execute_ok("print(x)").strip() == "42", "the kernel behind forged annotations is served"
    listed = {k["id"]: k for k in new.rest.get("api/kernels", timeout=5).json()}
    assert listed[k_ok]["execution_state"] in ("idle", "busy", "starting"), listed[k_ok]

    # nobody can reach the kernel behind the bad Secret: its objects are replaced by a relaunch (auto-restart)
    def relaunched():
        now = {k["id"]: k for k in new.rest.get("api/kernels", timeout=5).json()}
        p = cluster.kernel_pod(k_bad_secret)
        return k_bad_secret in now and now[k_bad_secret]["execution_state"] == "idle" and p and \
            p["metadata"]["uid"] != bad_pod_uid and p
    wait_until(relaunched, 60, 0.2, what="the kernel with a bad Secret relaunched with new objects")
    with new.ws(k_bad_secret) as ws:
        assert ws.kernel_info()["content"]["status"] == "ok"
    assert new.alive(), f"the gateway died\n{new.log_tail(30)}"
    assert time.monotonic() - t0 < 60
    for kid in (k_ok, k_bad_secret):
        assert new.rest.delete(f"api/kernels/{kid}", timeout=60).status_code in (204, 404)
    cluster.wait_clean(timeout=30)
