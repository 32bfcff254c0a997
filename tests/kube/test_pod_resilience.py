"""The API server misbehaving and the world changing under the gateway: dropped and expired watches, 500s and
429s, clients that go away mid-start, kernel pods deleted or killed from outside."""

from __future__ import annotations

import threading
import time

import pytest

import podkit
from podkit import FAST_FAILURE, pod_template, status_messages, wait_until, write_pod_kernelspec


@pytest.fixture
def slow_specs(specs_dir):
    # an image pull of 2 s / 5 s: the launch is in flight long enough to break things meanwhile
    write_pod_kernelspec(specs_dir, "slow_echo", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/pull-seconds": "2"}))
    write_pod_kernelspec(specs_dir, "very_slow_echo", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/pull-seconds": "5"}))
    return specs_dir


def start_in_background(gw, kernelspec, env=None, timeout=60):
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(r=gw.post_kernel(kernelspec, env, timeout=timeout)), daemon=True)
    t.start()
    return t, result


def gateway_watches(cluster):
    return [w for w in cluster.kube.open_watches() if not w["userAgent"].startswith(("fakekube", "ej-kube-tests"))]


# --------------------------------------------------------------------------------------------
# watches
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("abrupt", [False, True], ids=["clean-end", "reset"])
def test_watch_dropped_mid_launch_is_survived(cluster, slow_specs, gateways, abrupt):
    gw = gateways(slow_specs, cluster.kubeconfig, name="gw-drop")
    wait_until(lambda: len(gateway_watches(cluster)) == 4, 10, what="the gateway's four watches")
    before = cluster.last_seq()
    t, result = start_in_background(gw, "slow_echo")
    cluster.wait_pod(lambda p: True, 10, "the kernel pod")
    assert cluster.kube.drop_watches(abrupt=abrupt) >= 2
    t.join(60)
    r, took = result["r"]
    assert r.status_code == 201, r.text
    assert took < 20
    # the gateway resumed its watches (and only those)
    wait_until(lambda: len(gateway_watches(cluster)) == 4, 10, what="the watches to be resumed")
    rewatches = cluster.gateway_requests(since=before, watch=True)
    assert 2 <= len(rewatches) <= 4, [(q["path"], q["query"]) for q in rewatches]
    kid = r.json()["id"]
    with gw.ws(kid) as ws:
        assert ws.kernel_info()["content"]["status"] == "ok"
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def test_watch_expired_while_the_pod_started_is_survived(cluster, slow_specs, gateways):
    """The watch breaks, cannot come back at once (the reconnect is delayed), the pod becomes Running meanwhile
    and the history is compacted: the resume gets 410 Expired, the gateway re-lists and sees the running pod."""
    gw = gateways(slow_specs, cluster.kubeconfig, name="gw-expire")
    wait_until(lambda: len(gateway_watches(cluster)) == 4, 10, what="the gateway's four watches")
    t, result = start_in_background(gw, "slow_echo")
    pod = cluster.wait_pod(lambda p: True, 10, "the kernel pod")
    name = pod["metadata"]["name"]
    cluster.kube.delay(4, "GET", r"/pods$", count=1, watch=True)
    cluster.kube.drop_watches(abrupt=True)
    wait_until(lambda: (cluster.pod(name) or {}).get("status", {}).get("phase") == "Running", 10, 0.05,
               what="the pod to run while the gateway's pod watch is down")
    cluster.kube.expire_history()
    t.join(60)
    r, took = result["r"]
    assert r.status_code == 201, r.text
    assert took < 20, took
    expired = [q for q in cluster.gateway_requests(watch=True, path=r"/pods$")]
    assert len(expired) >= 2
    lists = cluster.gateway_requests(method="GET", watch=False, path=r"/pods$")
    assert len(lists) >= 2, "the gateway should have re-listed after 410 Expired"
    kid = r.json()["id"]
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


# --------------------------------------------------------------------------------------------
# API errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method, path, status, count", [
    ("POST", r"/secrets$", 500, 1),
    ("POST", r"/pods$", 500, 1),
    ("POST", r"/pods$", 500, None),
    ("POST", r"/secrets$", 403, 1),
    ("POST", r"/pods$", 429, 2),
    ("POST", r"/secrets$", 429, 2),
    ("PATCH", r"/secrets/", 500, 5),
    ("POST", r"/pods$", 503, 2),
], ids=["secret-500", "pod-500", "pod-500-always", "secret-403", "pod-429", "secret-429", "owner-patch-500",
        "pod-503"])
def test_api_errors_on_creation_are_survived_or_fail_cleanly(cluster, specs_dir, gateways, method, path, status, count):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-faults")
    rule = cluster.kube.fail(method, path, status=status, count=count, retry_after=1 if status in (429, 503) else None)
    r, took = gw.post_kernel("pod_echo", timeout=60)
    assert rule.hits >= 1
    if status in (429, 503):
        # retried (the server said so)
        assert r.status_code == 201, r.text
        kid = r.json()["id"]
        with gw.ws(kid) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"
        assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    else:
        assert r.status_code == 503, r.text
        # a short reason; the API server's own text stays in the gateway's log (finding 28). A failed owner patch
        # fails the start too: no Secret is left without its pod (finding 33)
        message = r.json()["message"]
        assert message.startswith("Could not create the kernel pod ("), message
        assert "namespaces" not in message and "fake" not in message.lower(), message
        assert took < FAST_FAILURE
    cluster.kube.clear_faults()
    cluster.wait_clean()
    assert gw.kernel_ids() == []
    if r.status_code != 201:  # and after a failed start, the next one works
        with gw.ws(gw.start_kernel("pod_echo")) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"


def test_api_errors_on_deletion_are_retried(cluster, specs_dir, gateways):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-delete-faults")
    kid = gw.start_kernel("pod_echo")
    rule = cluster.kube.fail("DELETE", r"/pods/", status=500, count=2)
    r = gw.rest.delete(f"api/kernels/{kid}", timeout=60)
    assert r.status_code == 204
    assert rule.hits == 2
    cluster.wait_clean()


# --------------------------------------------------------------------------------------------
# concurrency and clients going away
# --------------------------------------------------------------------------------------------


def test_five_concurrent_launches(cluster, specs_dir, gateways):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-parallel")
    results: list = [None] * 5

    def one(i):
        results[i] = gw.post_kernel("pod_python", {"KERNEL_USERNAME": f"user{i}"}, timeout=90)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert all(res is not None and res[0].status_code == 201 for res in results), [
        (res[0].status_code, res[0].text[:200]) if res else None for res in results]
    ids = [res[0].json()["id"] for res in results]
    pods = cluster.pods(gateway="gw-parallel")
    assert len(pods) == 5
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 5, ips  # same ports, each kernel on its own pod IP
    for i, kid in enumerate(ids):
        with gw.ws(kid) as ws:
            assert ws.execute_ok("import os; print(os.environ['KERNEL_USERNAME'])").strip() == f"user{i}"
    deletes = [threading.Thread(target=gw.rest.delete, args=(f"api/kernels/{kid}",)) for kid in ids]
    for t in deletes:
        t.start()
    for t in deletes:
        t.join(60)
    cluster.wait_clean()


def test_client_disconnecting_mid_start_deletes_the_pod(cluster, slow_specs, gateways):
    """The HTTP client goes away while the pod is still pulling its image: nobody will ever learn the kernel's id,
    so the pod (and its Secret) must not be left behind."""
    gw = gateways(slow_specs, cluster.kubeconfig, name="gw-disconnect")
    sock = podkit.held_post(gw, {"name": "very_slow_echo"})
    try:
        cluster.wait_pod(lambda p: True, 10, "the kernel pod")
    finally:
        sock.close()
    # the pod would be running 5 s after creation; give the gateway 15 s in all
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (cluster.kernel_objects() or gw.kernel_ids()):
        time.sleep(0.2)
    assert gw.kernel_ids() == [], "a kernel nobody asked for anymore is still running"
    cluster.wait_clean(timeout=1)


# --------------------------------------------------------------------------------------------
# kernel pods deleted / killed from outside
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "killed"])
def test_pod_lost_from_outside_is_replaced_with_auto_restart(cluster, specs_dir, gateways, how):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-autorestart")
    kid = gw.start_kernel("pod_python")
    old = cluster.kernel_pod(kid)
    with gw.ws(kid) as ws:
        ws.execute_ok("state = 'old'")
        if how == "deleted":
            cluster.kube.delete_object("v1", "Pod", old["metadata"]["name"], cluster.namespace)
        else:
            assert cluster.kubelet.kill(cluster.namespace, old["metadata"]["name"])
        status_messages(ws, "restarting", 20)
        new = wait_until(lambda: (p := cluster.kernel_pod(kid)) and p["metadata"]["uid"] != old["metadata"]["uid"]
                         and p["status"].get("phase") == "Running" and p, 30, 0.1, what="a new kernel pod")
        assert new["metadata"]["name"] == old["metadata"]["name"]
        res = ws.execute("print('state' in globals())", timeout=60)
        assert res.status == "ok" and res.stdout.strip() == "False", (res.reply, res.messages)
    assert [k for k in gw.kernel_ids()] == [kid]
    assert len(cluster.pods()) == 1
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def test_pod_deleted_from_outside_without_auto_restart_is_dead(cluster, specs_dir, gateways):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-noauto", auto_restart=False)
    kid = gw.start_kernel("pod_echo")
    pod = cluster.kernel_pod(kid)
    with gw.ws(kid) as ws:
        assert ws.kernel_info()["content"]["status"] == "ok"
        cluster.kube.delete_object("v1", "Pod", pod["metadata"]["name"], cluster.namespace)
        status_messages(ws, "dead", 20)
    time.sleep(1)
    assert cluster.pods() == [], "no replacement pod without auto-restart"
    cluster.wait_clean()
    # the dead kernel can still be deleted
    r = gw.rest.delete(f"api/kernels/{kid}", timeout=60)
    assert r.status_code in (204, 404)
    cluster.wait_clean()
