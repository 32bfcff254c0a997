"""Issue 16, item 4: several replicas of one gateway, any replica serves any kernel.

Gateway processes with the same kubeconfig, namespace and ``--gateway-name`` are replicas of one gateway; each has
its own ``--replica-id`` (``EJ_REPLICA_ID``; default the ``POD_NAME`` env, else the host name). Here two replicas,
A and B, run on their own ports with ``--replica-id a`` / ``b``:

- REST and the channels WebSocket work on a replica that did not start the kernel (listing within a watch's
  latency, execute, state, interrupt, restart, shutdown);
- exactly one replica owns each kernel's lifecycle: an idle kernel is culled once (one pod DELETE, one
  "culling kernel" log line across the replicas), and activity on any replica counts (pod annotation
  ``elastic-jupyter.io/last-activity``, written at most every cull-idle-timeout/4 s, capped at 60 s);
- per-user limits count the cluster's kernels and hold under concurrent starts on both replicas;
- a replica that stops (SIGTERM) leaves its kernels to the other, which serves them and becomes their owner.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from helpers import parent_id
from podkit import (kernel_object_uids, listed_kernels, log_lines, pod_deletions, pod_secret_creations_and_deletions,
                    replicas, terminate, wait_until)


LISTING = 3  # seconds within which a kernel started / deleted on one replica is (un)listed on every replica
IDLE = 6  # --cull-idle-timeout of the culling tests
CULL = ["--cull-idle-timeout", str(IDLE), "--cull-interval", "1"]
CULLED_AFTER_USE = IDLE + 4  # a kernel is culled at most this long after its last use (on any replica)
LAST_ACTIVITY = "elastic-jupyter.io/last-activity"
USER_LABEL = "elastic-jupyter.io/user"


def wait_listing(gw, kid: str, listed: bool, t0: float, after: str) -> float:
    """Wait until ``gw``'s GET /api/kernels lists ``kid`` (``listed``) or no longer does, at most LISTING s after
    ``t0``; GET /api/kernels/{id} must agree (200 / 404). Returns the seconds it took."""
    seen: dict[str, str] = {}

    def agrees():
        seen.clear()
        seen.update(listed_kernels(gw))
        return (kid in seen) == listed and gw.rest.get(f"api/kernels/{kid}", timeout=5).status_code == (
            200 if listed else 404)

    try:
        wait_until(agrees, max(0.2, t0 + LISTING - time.monotonic()), 0.05,
                   what=f"{kid} {'listed' if listed else 'gone'}")
    except AssertionError:
        raise AssertionError(f"{LISTING} s after {after}, {gw.log_path.stem} lists {sorted(seen)} (expected {kid} "
                             f"{'in' if listed else 'not in'} it)\n{gw.log_tail(20)}") from None
    return time.monotonic() - t0


def started_on_a(cluster, specs_dir, gateways, kernelspec: str, extra_args: list[str] | None = None):
    """Replicas A and B, and a kernel started on A that B lists within LISTING s: (a, b, kernel id, pod name)."""
    a, b = replicas(gateways, specs_dir, cluster, extra_args=extra_args)
    kid = a.start_kernel(kernelspec)
    wait_listing(b, kid, True, time.monotonic(), "the start on A")
    return a, b, kid, cluster.kernel_pod(kid)["metadata"]["name"]


def culling_lines(gateways_: list, kid: str) -> list[str]:
    """Every "culling kernel" log line about ``kid`` in these replicas' logs, prefixed with the log's name."""
    return [f"{g.log_path.stem}: {line}" for g in gateways_ for line in log_lines(g, "culling kernel", kid)]


def wait_culled_after_use(cluster, pod_name: str, last_use: float, replicas_: list) -> float:
    """Wait until the kernel's pod is deleted, at most CULLED_AFTER_USE s after ``last_use`` (+1 s of polling slack)
    and not before IDLE/2 s (it was not idle before ``last_use``); returns the seconds after ``last_use``."""
    try:
        wait_until(lambda: cluster.pod(pod_name) is None, max(0.5, last_use + CULLED_AFTER_USE + 1 - time.monotonic()),
                   0.05, what="the kernel's pod to be deleted")
    except AssertionError:
        raise AssertionError(f"not culled {CULLED_AFTER_USE + 1} s after its last use (idle timeout {IDLE} s)\n"
                             + "\n".join(g.log_tail(12) for g in replicas_)) from None
    after = time.monotonic() - last_use
    assert after >= IDLE / 2, f"culled {after:.1f}s after its last use (idle timeout {IDLE} s)"
    return after


# --------------------------------------------------------------------------------------------
# any replica serves any kernel
# --------------------------------------------------------------------------------------------


def test_any_replica_serves_a_kernel_the_other_started(cluster, specs_dir, gateways):
    a, b, kid, _ = started_on_a(cluster, specs_dir, gateways, "pod_python")
    model = b.rest.get(f"api/kernels/{kid}", timeout=5).json()
    assert (model["id"], model["name"]) == (kid, "pod_python"), model
    assert [p["metadata"]["labels"]["kernel_id"] for p in cluster.pods()] == [kid], "B started a pod of its own"

    with a.ws(kid) as ws_a, b.ws(kid) as ws_b:
        # B's WebSocket works, and the kernel's state is the same through both replicas
        assert ws_b.execute_ok("print('hello from B')", timeout=30) == "hello from B\n"
        ws_a.execute_ok("x = 42")
        assert ws_b.execute_ok("print(x)").strip() == "42"

        # interrupt through B a cell that runs through A
        msg_id = ws_a.send_execute("import time\nprint('sleeping', flush=True)\ntime.sleep(30)")
        ws_a.wait_for(lambda m: parent_id(m) == msg_id and m["msg_type"] == "stream"
                      and "sleeping" in m["content"].get("text", ""), 20, what="the cell to be sleeping")
        t0 = time.monotonic()
        r = b.rest.post(f"api/kernels/{kid}/interrupt", timeout=30)
        assert r.status_code == 204, f"{r.status_code} {r.text[:300]}"
        res = ws_a.collect(msg_id, timeout=15)
        assert res.status == "error" and res.reply.get("ename") == "KeyboardInterrupt", res.reply
        assert time.monotonic() - t0 < 10, f"interrupted {time.monotonic() - t0:.1f}s after the request"
        assert ws_b.execute_ok("print(x)").strip() == "42"  # the kernel survived its interrupt

        # restart through B: same kernel, fresh interpreter, for the clients of both replicas
        r = b.rest.post(f"api/kernels/{kid}/restart", timeout=60)
        assert r.status_code == 200, f"{r.status_code} {r.text[:300]}\n{b.log_tail(20)}"
        assert r.json()["id"] == kid, r.json()
        for who, ws in (("B", ws_b), ("A", ws_a)):
            res = ws.execute("print('x' in globals())", timeout=30)
            assert res.status == "ok" and res.stdout.strip() == "False", f"through {who} after the restart: " \
                                                                       f"{res.reply} {res.stdout!r}"
        assert kid in listed_kernels(a) and kid in listed_kernels(b)

        # shutdown through B: gone from both listings, its pod and Secret deleted, A's client disconnected
        r = b.rest.delete(f"api/kernels/{kid}", timeout=60)
        assert r.status_code == 204, f"{r.status_code} {r.text[:300]}"
        t0 = time.monotonic()
        for gw in (b, a):
            wait_listing(gw, kid, False, t0, "the DELETE on B")
        ws_a.wait_closed(10)
    cluster.wait_clean(timeout=15)


# --------------------------------------------------------------------------------------------
# one owner per kernel: culling
# --------------------------------------------------------------------------------------------


def test_an_idle_kernel_is_culled_exactly_once(cluster, specs_dir, gateways):
    both = replicas(gateways, specs_dir, cluster, extra_args=CULL)
    mark = cluster.last_seq()
    asked: dict[str, float] = {}  # when the start was requested: the kernel's activity is no older
    started: dict[str, float] = {}  # when it was answered
    for gw in both:  # one kernel started on each replica, never used
        t = time.monotonic()
        kid = gw.start_kernel("pod_echo")
        asked[kid], started[kid] = t, time.monotonic()
    pods = {kid: cluster.kernel_pod(kid)["metadata"]["name"] for kid in started}
    for kid in started:
        for gw in both:
            wait_listing(gw, kid, True, started[kid], f"the start of {kid}")

    gone_at: dict[str, float] = {}

    def all_gone():
        for kid, name in pods.items():
            if kid not in gone_at and cluster.pod(name) is None:
                gone_at[kid] = time.monotonic()
        return len(gone_at) == len(pods)

    try:
        wait_until(all_gone, max(0.5, max(started.values()) + CULLED_AFTER_USE + 1 - time.monotonic()), 0.05,
                   what="both idle kernels to be culled")
    except AssertionError:
        left = sorted(set(pods) - set(gone_at))
        raise AssertionError(f"not culled {CULLED_AFTER_USE + 1} s after their start: {left}\n"
                             + "\n".join(g.log_tail(12) for g in both)) from None
    for kid in pods:
        assert gone_at[kid] - asked[kid] >= IDLE - 0.2, \
            f"{kid} culled {gone_at[kid] - asked[kid]:.1f}s after its start (idle timeout {IDLE}s)"
    for kid in pods:
        for gw in both:
            wait_listing(gw, kid, False, gone_at[kid], f"{kid}'s pod was deleted")
    cluster.wait_clean(timeout=10)
    for kid, name in pods.items():
        lines = culling_lines(both, kid)
        assert len(lines) == 1, f"{kid}: {len(lines)} 'culling kernel' lines across the replicas: {lines}"
        deletes = pod_deletions(cluster, name, mark)
        assert len(deletes) == 1, f"{kid}: {len(deletes)} DELETEs of its pod (one cull, one DELETE): {deletes}"


def test_activity_on_the_other_replica_keeps_the_kernel_until_it_stops(cluster, specs_dir, gateways):
    a, b, kid, name = started_on_a(cluster, specs_dir, gateways, "pod_echo", CULL)
    recorded: list[str] = []  # the pod's last-activity annotation, as it changes

    with b.ws(kid) as ws:  # used through B only, for longer than the idle timeout
        use_until = time.monotonic() + 15
        while True:
            res = ws.execute(f"in use {len(recorded)}", timeout=10)
            assert res.status == "ok", res.reply
            last_use = time.monotonic()
            pod = cluster.pod(name)
            assert pod is not None and not pod["metadata"].get("deletionTimestamp"), \
                f"culled while in use through B\n{a.log_tail(15)}\n{b.log_tail(15)}"
            value = (pod["metadata"].get("annotations") or {}).get(LAST_ACTIVITY)
            if value and value not in recorded:
                recorded.append(value)
            if last_use >= use_until:
                break
            time.sleep(1.5)  # the pace of the use (the assertions are the pod checks above)
    assert kid in listed_kernels(a) and kid in listed_kernels(b)
    assert len(recorded) >= 2, f"the pod's {LAST_ACTIVITY} annotation did not follow the use through B: {recorded}"

    # the owner (A) saw the use on the pod: it culls the kernel once idle for the timeout after the use stopped
    gone = last_use + wait_culled_after_use(cluster, name, last_use, [a, b])
    for gw in (a, b):
        wait_listing(gw, kid, False, gone, "the kernel's pod was deleted")
    cluster.wait_clean(timeout=10)
    lines = culling_lines([a, b], kid)
    assert len(lines) == 1, lines


# --------------------------------------------------------------------------------------------
# limits count the cluster's kernels
# --------------------------------------------------------------------------------------------


def test_per_user_limit_holds_under_concurrent_starts_on_both_replicas(cluster, specs_dir, gateways):
    a, b = replicas(gateways, specs_dir, cluster, extra_args=["--max-kernels-per-user", "2"])
    body = {"name": "pod_echo", "env": {"KERNEL_USERNAME": "alice"}}
    barrier = threading.Barrier(6)

    def post(gw):  # its own connection (a requests.Session is not shared between threads)
        barrier.wait(30)
        return gw, requests.post(gw.rest.url("api/kernels"), json=body, timeout=90)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, [a, b] * 3))
    summary = [(g.log_path.stem, r.status_code, r.text[:160]) for g, r in answers]
    assert sorted(r.status_code for _, r in answers) == [201, 201, 403, 403, 403, 403], summary
    for _, r in answers:
        if r.status_code == 403:
            message = r.json().get("message")
            assert isinstance(message, str) and message, r.text
    started = {r.json()["id"]: g for g, r in answers if r.status_code == 201}

    def alice_pods() -> list[str]:
        return sorted(p["metadata"]["labels"]["kernel_id"] for p in cluster.kube.list_objects(
            "v1", "Pod", cluster.namespace, label_selector=f"app.kubernetes.io/component=kernel,{USER_LABEL}=alice"))

    assert alice_pods() == sorted(started), summary
    created = cluster.gateway_requests(method="POST", path=r"/pods$")
    assert len(created) == 2, f"pods created for 2 kernels: {[(q['path'], q['status']) for q in created]}"
    t0 = time.monotonic()
    for gw in (a, b):
        for kid in started:
            wait_listing(gw, kid, True, t0, "the concurrent starts")

    # the freed slot is reusable, on the other replica too; the limit still holds afterwards
    kid, owner = next(iter(started.items()))
    assert owner.rest.delete(f"api/kernels/{kid}", timeout=60).status_code == 204
    other = b if owner is a else a
    last: list = []

    def start_again():
        r, _ = other.post_kernel("pod_echo", body["env"])
        last[:] = [r.status_code, r.text[:300]]
        return r.json()["id"] if r.status_code == 201 else None

    try:
        new = wait_until(start_again, LISTING, 0.2, what="a start in the freed slot")
    except AssertionError:
        raise AssertionError(f"{LISTING} s after the DELETE on {owner.log_path.stem}, a start of alice's on "
                             f"{other.log_path.stem} still gets {last}; alice's pods: {alice_pods()}, listed there: "
                             f"{sorted(listed_kernels(other))}") from None
    for gw in (a, b):
        r, _ = gw.post_kernel("pod_echo", body["env"])
        assert r.status_code == 403, f"a third kernel of alice on {gw.log_path.stem}: {r.status_code} {r.text[:300]}"
    remaining = sorted([*(k for k in started if k != kid), new])
    assert alice_pods() == remaining
    for k in remaining:
        assert a.rest.delete(f"api/kernels/{k}", timeout=60).status_code == 204
    cluster.wait_clean(timeout=15)


# --------------------------------------------------------------------------------------------
# a replica that stops
# --------------------------------------------------------------------------------------------


def test_a_stopped_replica_leaves_its_kernels_to_the_other(cluster, specs_dir, gateways):
    a, b, kid, name = started_on_a(cluster, specs_dir, gateways, "pod_echo", CULL)
    objects = kernel_object_uids(cluster)
    assert len(objects) == 2, objects  # its pod and Secret

    with b.ws(kid) as ws_b:
        assert ws_b.execute("before A stops", timeout=30).status == "ok"
        mark = cluster.last_seq()
        code = terminate(a, 30)
        assert code == 0, f"exit code {code} (None: still running 30 s after SIGTERM)\n{a.log_tail(30)}"
        # A left its kernel running: nothing deleted or replaced
        assert kernel_object_uids(cluster) == objects
        assert pod_secret_creations_and_deletions(cluster, mark) == []
        assert cluster.pod(name)["status"].get("phase") == "Running"
        # B keeps serving it: the open WebSocket and a new one
        res = ws_b.execute("after A stopped", timeout=15)
        assert res.status == "ok", res.reply
        with b.ws(kid) as ws_new:
            assert ws_new.kernel_info(timeout=15)["content"]["status"] == "ok"
        assert kid in listed_kernels(b)
        last_use = time.monotonic()

    # B is now its owner: it culls the kernel once it has been idle for the timeout
    gone = last_use + wait_culled_after_use(cluster, name, last_use, [b])
    wait_listing(b, kid, False, gone, "the kernel's pod was deleted")
    cluster.wait_clean(timeout=10)
    lines = culling_lines([a, b], kid)
    assert len(lines) == 1 and lines == culling_lines([b], kid), lines
