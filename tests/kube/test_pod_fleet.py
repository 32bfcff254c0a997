"""Many kernels, several gateways, whole lifecycles: one watch however many kernels, no polling, nothing left
behind, and a gateway never touches another gateway's pods."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import podkit
from podkit import pod_template, status_messages, wait_until, write_pod_kernelspec


def gateway_watches(cluster):
    return [w for w in cluster.kube.open_watches() if not w["userAgent"].startswith(("fakekube", "ej-kube-tests"))]


def api_summary(reqs):
    out: dict[str, int] = {}
    for q in reqs:
        kind = "WATCH" if q["watch"] else q["method"]
        path = q["path"].rsplit("/", 1)[0] + "/<name>" if q["method"] in ("GET", "DELETE", "PATCH", "PUT") and \
            not q["path"].endswith(("/pods", "/secrets", "/events", "/leases")) else q["path"]
        out[f"{kind} {path}"] = out.get(f"{kind} {path}", 0) + 1
    return out


def test_fifty_kernels_one_watch_no_polling(cluster, specs_dir, gateways):
    t_start = time.monotonic()
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-fifty")
    # its kernel pods, the autoscaler's TriggeredScaleUp / NotTriggerScaleUp pod Events (field-selected), and the
    # Leases of the gateway's replicas (one per replica, not per kernel)
    wait_until(lambda: len(gateway_watches(cluster)) == 4, 10, what="the gateway's watches")

    first = gw.start_kernel("pod_echo")
    watches_one = len(cluster.gateway_requests(watch=True))
    open_one = sorted(w["resource"] for w in gateway_watches(cluster))
    assert open_one == ["events", "events", "leases.coordination.k8s.io", "pods"], open_one

    def start(i):
        try:
            return gw.start_kernel("pod_echo", {"KERNEL_USERNAME": f"u{i % 7}"}, timeout=40)
        except Exception as e:  # noqa: BLE001 - reported below with the pods' state
            return e

    with ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(start, range(49)))
    failed = [i for i in ids if not isinstance(i, str)]
    if failed:
        started = {i for i in ids if isinstance(i, str)} | {first}
        stuck = {p["metadata"]["labels"]["kernel_id"] for p in cluster.pods()} - started
        pytest.fail(f"{len(failed)} of 49 starts failed ({failed[0]!r}); gateway {gw.responsiveness()}; the pods of "
                    f"the kernels that did not start: {podkit.describe_kernel_pods(cluster, stuck)[:5]}")
    ids.append(first)
    assert len(set(ids)) == 50
    pods = cluster.pods(gateway="gw-fifty")
    assert len(pods) == 50 and all(p["status"]["phase"] == "Running" for p in pods)
    assert len({p["status"]["podIP"] for p in pods}) == 50

    # the kernels answer (over their own pod IPs, all on the same five ports)
    for kid in (ids[0], ids[24], ids[49]):
        with gw.ws(kid) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"

    # 50 kernels cost the watch connections of 1
    assert len(cluster.gateway_requests(watch=True)) == watches_one
    assert sorted(w["resource"] for w in gateway_watches(cluster)) == open_one

    # no per-kernel polling: while 50 kernels just run, the gateway reads nothing from the API server; its only
    # writes are the pods' last-activity annotations, at most one per pod and minute, and its replica Lease's renewal
    mark = cluster.last_seq()
    time.sleep(3)
    idle = cluster.gateway_requests(since=mark)
    assert [q for q in idle if q["method"] != "PATCH"] == [], api_summary(idle)
    lease = rf"/apis/coordination.k8s.io/v1/namespaces/{cluster.namespace}/leases/ej-replica-[a-z0-9-]+"
    assert all(re.fullmatch(rf"/api/v1/namespaces/{cluster.namespace}/pods/[^/]+|{lease}", q["path"]) for q in idle), \
        api_summary(idle)

    # over the whole run: one list per informer, per kernel one Secret + one Pod + one owner patch, no GETs
    reqs = cluster.gateway_requests()
    summary = api_summary(reqs)
    assert summary.get(f"GET /api/v1/namespaces/{cluster.namespace}/pods", 0) == 1, summary
    assert summary.get(f"GET /api/v1/namespaces/{cluster.namespace}/events", 0) == 2, summary
    assert summary.get(f"POST /api/v1/namespaces/{cluster.namespace}/pods", 0) == 50, summary
    assert summary.get(f"POST /api/v1/namespaces/{cluster.namespace}/secrets", 0) == 50, summary
    # the only object read by name: the gateway's kernel ledger (a Lease), once, before the first start
    assert summary.get(f"GET /apis/coordination.k8s.io/v1/namespaces/{cluster.namespace}/leases/<name>", 0) <= 1, summary
    assert not any(k.startswith("GET ") and k.endswith("/<name>") and "/leases/" not in k for k in summary), summary
    allowed = 1 + int((time.monotonic() - t_start) // 60)
    patches: dict[str, int] = {}
    for q in reqs:
        if q["method"] == "PATCH" and "/pods/" in q["path"]:
            patches[q["path"]] = patches.get(q["path"], 0) + 1
    assert all(n <= allowed for n in patches.values()), patches
    annotated = [p for p in cluster.pods() if "elastic-jupyter.io/last-activity" in p["metadata"].get("annotations", {})]
    assert len(annotated) == len(patches)

    # all shut down (in parallel): nothing left
    def stop(kid):
        try:
            return gw.rest.delete(f"api/kernels/{kid}", timeout=60).status_code
        except Exception as e:  # noqa: BLE001
            return e

    with ThreadPoolExecutor(max_workers=25) as pool:
        codes = list(pool.map(stop, ids))
    assert codes == [204] * 50, f"{[c for c in codes if c != 204][:3]}; gateway {gw.responsiveness()}"
    cluster.wait_clean(timeout=30)
    assert gw.kernel_ids() == []


def test_concurrent_starts_and_stops_never_wedge_the_gateway(cluster, specs_dir, gateways):
    """Kernels started and stopped many at a time (as a class of students opening their notebooks). Every start and
    stop is answered, and the gateway answers other requests meanwhile.

    Gateway bug (KubernetesRuntime Informer): the informer yields to its change streams while holding its
    dispatcher lock (Informer+ListWatch.swift apply()/relist() → Dispatcher.deliver → continuation.yield), and a
    stream's onTermination takes that lock (Informer.swift, changes()). When a launch's wait is cancelled (the
    task group in KernelPodTracker.waitUntilRunning, waitUntilGone under withDeadline) while an event is being
    delivered, the cancelling thread holds the task's status lock and waits for the dispatcher lock, and the
    delivering thread holds the dispatcher lock and waits for the task's status lock (to resume the consumer):
    a lock-order deadlock. With 2 cores the cooperative pool has 2 threads, so the whole gateway wedges: no
    start, no launch timeout, no HTTP answer.
    """
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-stress", launch_timeout=30)

    def start(i):
        try:
            return gw.start_kernel("pod_echo", {"KERNEL_USERNAME": f"s{i}"}, timeout=30)
        except Exception as e:  # noqa: BLE001
            return e

    def stop(kid):
        try:
            return gw.rest.delete(f"api/kernels/{kid}", timeout=30).status_code
        except Exception as e:  # noqa: BLE001
            return e

    for round_ in range(2):
        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(start, range(24)))
        failed = [i for i in ids if not isinstance(i, str)]
        assert not failed, f"round {round_}: {len(failed)} of 24 starts unanswered ({failed[0]!r}); gateway " \
                           f"{gw.responsiveness()}"
        with ThreadPoolExecutor(max_workers=24) as pool:
            codes = list(pool.map(stop, ids))
        bad = [c for c in codes if c != 204]
        assert not bad, f"round {round_}: {len(bad)} of 24 stops failed ({bad[0]!r}); gateway {gw.responsiveness()}"
        cluster.wait_clean(timeout=30)


def test_lifecycle_leaves_nothing_and_never_touches_another_gateways_pods(
        fake_kube_factory, kubelet_for, specs_dir, gateways, tmp_path, collect_rendered):
    """Start, cull, restart, kill, delete from outside, shut down kernels of gateway A, with graceful pod deletion
    (as on a real cluster); gateway B (another --gateway-name, same namespace) keeps its pods throughout."""
    # over TLS with one client certificate per gateway: the request log tells the gateways apart
    kube = fake_kube_factory(graceful_pod_deletion=True, tls=True, client_cert_auth=True)
    collect_rendered(kube)
    cluster = podkit.make_cluster(kube, kubelet_for(kube), tmp_path)
    kc_a = kube.write_kubeconfig(tmp_path / "kc-a", cert=kube.issue_client_cert("gateway-a"), namespace=cluster.namespace)
    kc_b = kube.write_kubeconfig(tmp_path / "kc-b", cert=kube.issue_client_cert("gateway-b"), namespace=cluster.namespace)

    gw_b = gateways(specs_dir, kc_b, name="gw-b")
    b_ids = [gw_b.start_kernel("pod_echo", {"KERNEL_USERNAME": "bob"}) for _ in range(2)]
    b_pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in cluster.pods(gateway="gw-b")}
    assert len(b_pods) == 2

    def b_untouched():
        now = {p["metadata"]["name"]: p["metadata"]["uid"] for p in cluster.pods(gateway="gw-b")}
        assert now == b_pods, f"gateway B's pods changed: {b_pods} -> {now}"
        assert all(p["status"]["phase"] == "Running" for p in cluster.pods(gateway="gw-b"))
        assert sorted(gw_b.kernel_ids()) == sorted(b_ids)

    gw_a = gateways(specs_dir, kc_a, name="gw-a",
                    extra_args=["--cull-idle-timeout", "3", "--cull-interval", "0.5"])
    b_untouched()

    # a kernel to cull (idle, no client), one to restart, one to kill, one to delete from outside, one to shut down
    a = {role: gw_a.start_kernel("pod_python" if role == "restart" else "pod_echo", {"KERNEL_USERNAME": "alice"})
         for role in ("cull", "restart", "kill", "outside", "shutdown")}
    assert len(cluster.pods(gateway="gw-a")) == 5
    b_untouched()

    # clients keep the others in use (and connected kernels are not culled anyway)
    socks = {role: gw_a.ws(kid) for role, kid in a.items() if role != "cull"}
    stop = threading.Event()

    def chatter():
        while not stop.is_set():
            for ws in socks.values():
                try:
                    ws.send_msg("shell", "kernel_info_request")
                except Exception:  # noqa: BLE001 - a socket may be closed by the test meanwhile
                    pass
            stop.wait(0.5)

    t = threading.Thread(target=chatter, daemon=True)
    t.start()
    try:
        # culled: pod and Secret gone
        cull_pod = cluster.kernel_pod(a["cull"])["metadata"]["name"]
        wait_until(lambda: a["cull"] not in gw_a.kernel_ids(), 20, 0.2, what="the idle kernel to be culled")
        wait_until(lambda: cluster.pod(cull_pod) is None, 15, what="the culled kernel's pod to go")
        b_untouched()

        # restarted (in place)
        uid = cluster.kernel_pod(a["restart"])["metadata"]["uid"]
        r = gw_a.rest.post(f"api/kernels/{a['restart']}/restart", timeout=60)
        assert r.status_code == 200, r.text
        assert cluster.kernel_pod(a["restart"])["metadata"]["uid"] == uid

        # killed: a new pod
        old = cluster.kernel_pod(a["kill"])
        assert cluster.kubelet.kill(cluster.namespace, old["metadata"]["name"])
        wait_until(lambda: (p := cluster.kernel_pod(a["kill"])) and p["metadata"]["uid"] != old["metadata"]["uid"]
                   and (p.get("status") or {}).get("phase") == "Running", 30, 0.1, what="the killed kernel's new pod")

        # deleted from outside (graceful): a new pod
        old = cluster.kernel_pod(a["outside"])
        kube.delete_object("v1", "Pod", old["metadata"]["name"], cluster.namespace)
        wait_until(lambda: (p := cluster.kernel_pod(a["outside"])) and p["metadata"]["uid"] != old["metadata"]["uid"]
                   and (p.get("status") or {}).get("phase") == "Running", 30, 0.1, what="the deleted kernel's new pod")
        b_untouched()

        # shut down
        assert gw_a.rest.delete(f"api/kernels/{a['shutdown']}", timeout=60).status_code == 204
        b_untouched()
        assert sorted(gw_a.kernel_ids()) == sorted([a["restart"], a["kill"], a["outside"]])
        # the shut-down kernel's pod goes (graceful deletion: it may still be terminating when DELETE answers)
        wait_until(lambda: len(cluster.pods(gateway="gw-a")) == 3, 15, 0.1, what="the shut-down kernel's pod to go")

        # the rest shut down (while their clients still keep them from being culled)
        with ThreadPoolExecutor(max_workers=3) as pool:
            codes = list(pool.map(lambda role: gw_a.rest.delete(f"api/kernels/{a[role]}", timeout=60).status_code,
                                  ("restart", "kill", "outside")))
        assert codes == [204] * 3
    finally:
        stop.set()
        t.join(5)
        for ws in socks.values():
            ws.close()

    # nothing of gateway A is left, B's pods are as they were
    assert gw_a.kernel_ids() == []
    cluster.wait_clean(gateway="gw-a", timeout=30)
    b_untouched()
    # gateway A never named one of B's pods (or their Secrets) in any request, and B never named one of A's
    a_reqs = [q for q in kube.requests() if q["user"] == "gateway-a"]
    b_reqs = [q for q in kube.requests() if q["user"] == "gateway-b"]
    assert a_reqs and b_reqs
    named = [(q["method"], q["path"]) for q in a_reqs if any(n in q["path"] for n in b_pods)]
    assert named == [], named
    with podkit.RENDERED_LOCK:
        a_names = {o["metadata"]["name"] for o in podkit.RENDERED.values()
                   if o["kind"] == "Pod" and o["metadata"]["labels"].get("elastic-jupyter.io/gateway") == "gw-a"}
    assert len(a_names) >= 5
    named = [(q["method"], q["path"]) for q in b_reqs if any(n in q["path"] for n in a_names)]
    assert named == [], named
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(lambda kid: gw_b.rest.delete(f"api/kernels/{kid}", timeout=60).status_code, b_ids)) \
            == [204, 204]
    cluster.wait_clean(timeout=30)


def test_sigterm_with_shutdown_on_exit_deletes_the_gateways_pods_and_only_those(cluster, specs_dir, gateways):
    """With --shutdown-kernels-on-exit a stopping gateway (SIGTERM) shuts its kernels down: it deletes its pods
    (their Secrets go with them), starts no new ones, leaves another gateway's pods alone, and exits promptly.
    (Without it, pod kernels outlive the gateway: tests/kube/test_pod_adoption.py.)"""
    other = gateways(specs_dir, cluster.kubeconfig, name="gw-other")
    other_kid = other.start_kernel("pod_echo")
    other_pod = cluster.kernel_pod(other_kid)
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-stopping", extra_args=["--shutdown-kernels-on-exit"])
    ids = [gw.start_kernel("pod_python" if i == 0 else "pod_echo") for i in range(3)]
    assert len(cluster.pods(gateway="gw-stopping")) == 3
    with gw.ws(ids[0]) as ws:
        assert ws.execute_ok("print(1 + 1)").strip() == "2"
    mark = cluster.last_seq()
    t0 = time.monotonic()
    assert gw.proc is not None
    gw.proc.send_signal(15)
    try:
        code = gw.proc.wait(30)
    except Exception:  # noqa: BLE001
        code = None
    took = time.monotonic() - t0
    created = [q["path"] for q in cluster.gateway_requests(since=mark, method="POST")]
    deadline = time.monotonic() + 10  # Secrets go with their pods (garbage collection)
    while (left := cluster.kernel_objects(gateway="gw-stopping")) and time.monotonic() < deadline:
        time.sleep(0.1)
    gw.stop()
    problems = []
    if code != 0:
        problems.append(f"exit code {code} after {took:.1f}s")
    if created:
        problems.append(f"created while stopping: {created}")
    if left:
        problems.append(f"left behind: {left}")
    assert not problems, "; ".join(problems) + "\n" + gw.log_tail(25)
    assert cluster.kernel_pod(other_kid)["metadata"]["uid"] == other_pod["metadata"]["uid"]
    assert other.kernel_ids() == [other_kid]


def test_sigterm_while_a_kernel_is_starting_leaves_nothing(cluster, specs_dir, gateways):
    """A gateway asked to stop while a kernel pod is still starting stops promptly and deletes that pod (a start
    nobody was answered for); the kernel that was running is left running for the next gateway."""
    write_pod_kernelspec(specs_dir, "never_answers", argv=["/bin/sh", "-c", "exec sleep 600", "never-answers", "{connection_file}"],
                         interrupt_mode=None)
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-term")
    kid = gw.start_kernel("pod_echo")
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(r=gw.post_kernel("never_answers", timeout=60)), daemon=True)
    t.start()
    cluster.wait_pod(lambda p: p["metadata"]["labels"]["kernel_id"] != kid
                     and (p.get("status") or {}).get("phase") == "Running", 20, "the starting kernel's pod")
    time.sleep(0.5)
    assert gw.proc is not None
    gw.proc.send_signal(15)
    try:
        code = gw.proc.wait(20)
    except Exception:  # noqa: BLE001
        code = None
    running = cluster.kernel_pod(kid)["metadata"]["name"]
    kept = sorted([f"Pod/{running}", f"Secret/{running}-connection"])
    deadline = time.monotonic() + 5
    while (left := sorted(cluster.kernel_objects())) != kept and time.monotonic() < deadline:
        time.sleep(0.1)
    gw.stop()
    t.join(5)
    assert code == 0 and left == kept, f"exit code {code} (None: still running 20 s after SIGTERM); left: {left}"
