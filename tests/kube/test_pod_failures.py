"""Kernel pods that cannot start: the start fails fast (not at the launch timeout) with the Kubernetes reason,
and nothing is left in the cluster. Refusals (limits, UID 0) never reach the cluster at all.

The gateway's launch timeout is 120 s in these tests; a failure must be reported within 30 s.
"""

from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import podkit
from fakekube.testing import wait_until
from podkit import FAST_FAILURE, pod_template, write_pod_kernelspec


@pytest.fixture
def failure_specs(specs_dir):
    write_pod_kernelspec(specs_dir, "crashloop", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/simulate": "CrashLoopBackOff"}))
    # OOM-killed 0.3 s after the container starts, by a process that never answers: an ipykernel here could
    # answer first on a quiet machine (the gateway connects and probes within tens of ms of the bind).
    write_pod_kernelspec(specs_dir, "oomkilled", argv=["/bin/sh", "-c", "exec sleep 600", "oom", "{connection_file}"],
                         interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/simulate": "OOMKilled",
                                                            "fake.kubelet/oom-after-seconds": "0.3"}))
    write_pod_kernelspec(specs_dir, "scaleup", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/simulate": "TriggeredScaleUp",
                                                            "fake.kubelet/scale-up-seconds": "3"}))
    write_pod_kernelspec(specs_dir, "pod_echo_unschedulable", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                         template=pod_template(annotations={"fake.kubelet/simulate": "Unschedulable"}))
    write_pod_kernelspec(specs_dir, "never_answers", argv=["/bin/sh", "-c", "exec sleep 600", "never-answers", "{connection_file}"],
                         interrupt_mode=None)
    # A kernel whose process exits at once (a broken image: no ipykernel, bad argv, import error, ...).
    write_pod_kernelspec(specs_dir, "crashes_at_start", interrupt_mode=None,
                         argv=[str(podkit.VENV_PY), "-c", "import sys; sys.exit(3)", "{connection_file}"])
    return specs_dir


@pytest.fixture
def gw(cluster, failure_specs, gateways):
    # client images only where allowed (finding 14): these tests name images that fail to pull
    return gateways(failure_specs, cluster.kubeconfig, name="gw-fail", extra_args=["--allowed-images", "example/*,Example/*"])


def assert_fast_failure(gw, cluster, kernelspec: str, env: dict | None, reasons: tuple[str, ...]):
    try:
        r, took = gw.post_kernel(kernelspec, env, timeout=FAST_FAILURE)
    except requests.Timeout:
        pods = cluster.pods()
        state = [(p["metadata"]["name"], (p.get("status") or {}).get("phase"),
                  [c.get("state") for c in (p.get("status") or {}).get("containerStatuses") or []]) for p in pods]
        logs = [cluster.kubelet.read_log(cluster.namespace, p["metadata"]["name"]) or "" for p in pods]
        pytest.fail(f"POST /api/kernels {kernelspec} did not fail within {FAST_FAILURE}s (launch timeout "
                    f"{podkit.LAUNCH_TIMEOUT}s); pods: {state}; pod log has {sum(len(x.splitlines()) for x in logs)} "
                    f"lines, ending: {[x[-300:] for x in logs]}")
    assert r.status_code == 503, f"{r.status_code} {r.text[:500]}"
    body = r.json()
    assert isinstance(body.get("message"), str) and isinstance(body.get("reason"), str), body
    assert any(reason in body["message"] for reason in reasons), body["message"]
    assert took < FAST_FAILURE, f"start failed only after {took:.1f}s (launch timeout {podkit.LAUNCH_TIMEOUT}s)"
    cluster.wait_clean(timeout=15)
    assert gw.kernel_ids() == []
    return body["message"]


def start_failures(gw) -> dict[str, float]:
    """The gateway's failed pod starts by metric reason (its /metrics, parsed by prometheus_client)."""
    text = gw.rest.get("metrics", timeout=30).text
    return {s.labels["reason"]: s.value for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "elastic_jupyter_gateway_kernel_start_failures_total" and s.labels.get("provisioner") == "kubernetes"}


@pytest.mark.parametrize("kernelspec, env, reasons, label", [
    ("pod_echo", {"KERNEL_IMAGE": "example/does-not-exist:1"}, ("ErrImagePull", "ImagePullBackOff"), "image_pull"),
    ("pod_echo", {"KERNEL_IMAGE": "Example/UPPER-Case:1"}, ("InvalidImageName",), "image_pull"),
    # no scale-up coming: the kernelspec allows 1 GPU, the fake node has none
    ("pod_echo", {"KERNEL_GPUS": "1"}, ("Unschedulable",), "unschedulable"),
    ("crashloop", None, ("CrashLoopBackOff",), "container_failed"),
    ("oomkilled", None, ("OOMKilled",), "oom_killed"),
], ids=["ErrImagePull", "InvalidImageName", "Unschedulable", "CrashLoopBackOff", "OOMKilled"])
def test_start_fails_fast_with_the_kubernetes_reason(gw, cluster, kernelspec, env, reasons, label):
    before = start_failures(gw)
    message = assert_fast_failure(gw, cluster, kernelspec, env, reasons)
    if "Unschedulable" in reasons:
        assert "Insufficient nvidia.com/gpu" in message
    # The metric says why with a fixed label, never Kubernetes' text.
    after = start_failures(gw)
    assert after.get(label, 0) == before.get(label, 0) + 1, (label, before, after)
    assert set(after) <= {"image_pull", "unschedulable", "container_config", "container_failed", "oom_killed", "evicted",
                          "pod_failed", "timeout", "process_exited", "unreachable", "provisioner", "refused", "stopped",
                          "cancelled"}
    if "OOMKilled" in reasons:  # the gateway is fine afterwards (checked once: the kernel is left to teardown)
        with gw.ws(gw.start_kernel("pod_echo")) as ws:
            assert ws.kernel_info()["content"]["status"] == "ok"


def test_container_killed_while_starting_fails_fast(gw, cluster):
    """A container that terminates (here: killed) before the kernel answers: the start fails with its reason."""
    import threading

    result = {}
    t = threading.Thread(target=lambda: result.update(r=gw.post_kernel("never_answers", timeout=FAST_FAILURE + 5)))
    t.start()
    try:
        pod = cluster.wait_pod(lambda p: (p.get("status") or {}).get("phase") == "Running", 20, "a running pod")
        podkit.wait_until(lambda: cluster.kubelet.pod_pid(cluster.namespace, pod["metadata"]["name"]), 10, 0.05,
                          what="pod process")
        assert cluster.kubelet.kill(cluster.namespace, pod["metadata"]["name"])
    finally:
        t.join(FAST_FAILURE + 10)
    r, took = result["r"]
    assert r.status_code == 503, r.text
    assert "Error" in r.json()["message"] and "137" in r.json()["message"], r.json()
    assert took < FAST_FAILURE
    cluster.wait_clean()


def test_kernel_process_crashing_at_start_fails_fast(gw, cluster):
    """The most common failed container: the kernel process itself exits at once (an image without ipykernel,
    a bad argv). The start must fail within seconds with the container's exit, not after the launch timeout.

    The pod command's supervisor loop restarts the kernel only after a clean exit (a restart request); a
    crash ends the container, so the watch sees the failure (this was once a silent crash loop).
    """
    assert_fast_failure(gw, cluster, "crashes_at_start", None, ("Error", "exit code 3", "exited"))


def test_triggered_scale_up_waits_then_succeeds(gw, cluster):
    """Unschedulable, but the cluster autoscaler announced a scale-up: the start waits for it and succeeds.

    As on a real cluster, the scheduler's Unschedulable status comes first and the autoscaler's TriggeredScaleUp
    Event afterwards.
    """
    r, took = gw.post_kernel("scaleup", timeout=60)
    assert r.status_code == 201, f"{r.status_code} {r.text[:500]}"
    assert took >= 2.5, f"started after {took:.1f}s: the scale-up takes 3 s"
    kid = r.json()["id"]
    events = cluster.kube.list_objects("v1", "Event", cluster.namespace)
    assert any(e.get("reason") == "TriggeredScaleUp" for e in events)
    with gw.ws(kid) as ws:
        assert ws.kernel_info()["content"]["status"] == "ok"
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def test_scale_up_announced_after_the_unschedulable_status_is_awaited(gw, cluster):
    """The order of a real cluster: the scheduler marks the pod Unschedulable at once; the cluster autoscaler
    notices it on its next scan (every 10 s by default) and only then reports TriggeredScaleUp; the new node
    comes later still. Here the test plays the autoscaler: the Event 1.5 s after the Unschedulable status, the
    node (the annotation removed, so the kubelet double schedules the pod) 1.5 s after that.

    The gateway gives an Unschedulable pod a short grace (KernelPodTracker.scaleUpGrace) for the autoscaler
    to announce a scale-up, and fails it at once on NotTriggerScaleUp or when the grace ends.
    """
    import threading

    ns = cluster.namespace
    result = {}
    t = threading.Thread(target=lambda: result.update(r=gw.post_kernel("pod_echo_unschedulable", timeout=60)))
    t.start()
    def unschedulable_pod_or_answer():
        if "r" in result:
            return "answered"
        for p in cluster.pods():
            if any(c.get("reason") == "Unschedulable" for c in (p.get("status") or {}).get("conditions") or []):
                return p
        return None

    try:
        pod = podkit.wait_until(unschedulable_pod_or_answer, 20, 0.02, what="an Unschedulable pod")
        if pod == "answered":
            r, took = result["r"]
            pytest.fail(f"the start ended after {took:.1f}s, before the autoscaler could announce a scale-up: "
                        f"{r.status_code} {r.text[:300]}")
        name = pod["metadata"]["name"]
        time.sleep(1.5)
        cluster.kube.create_object({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{name}.scaleup", "namespace": ns},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": name, "namespace": ns,
                               "uid": pod["metadata"]["uid"]},
            "reason": "TriggeredScaleUp", "type": "Normal",
            "message": "pod triggered scale-up: [{gpu-pool 0->1 (max: 4)}]",
            "source": {"component": "cluster-autoscaler"}, "reportingComponent": "cluster-autoscaler",
            "count": 1, "firstTimestamp": pod["metadata"]["creationTimestamp"],
            "lastTimestamp": pod["metadata"]["creationTimestamp"]}, ns)
        time.sleep(1.5)
        if cluster.pod(name) is not None:
            cluster.kube.patch_object("v1", "Pod", name, {"metadata": {"annotations": {"fake.kubelet/simulate": None}}}, ns)
    finally:
        t.join(70)
    r, took = result["r"]
    assert r.status_code == 201, f"{r.status_code} {r.text[:500]} after {took:.1f}s"
    kid = r.json()["id"]
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def _replica_lease(request: dict) -> bool:
    """A renewal of a replica's own Lease (``ej-replica-…``, every 4 s): its heartbeat, not part of a start."""
    return "/leases/ej-replica-" in request["path"]


@pytest.mark.parametrize("env, text", [
    ({"KERNEL_UID": "0"}, "UID"),
    ({"KERNEL_GID": "0"}, "GID"),
    ({"KERNEL_CPUS": "3"}, "KERNEL_CPUS"),
    ({"KERNEL_MEMORY": "3Gi"}, "KERNEL_MEMORY"),
    ({"KERNEL_GPUS": "2"}, "KERNEL_GPUS"),
    ({"KERNEL_CPUS_LIMIT": "2500m"}, "KERNEL_CPUS_LIMIT"),
    ({"KERNEL_VOLUMES": '[{"name": "host", "hostPath": {"path": "/"}}]'}, "allows no volumes"),
], ids=["uid0", "gid0", "cpus", "memory", "gpus", "cpu-limit", "volume"])
def test_refused_requests_are_403_and_never_reach_the_cluster(gw, cluster, env, text):
    # the replica's Lease is created once at start: wait for it, so that only its renewals can follow
    wait_until(lambda: any(item["metadata"]["name"].startswith("ej-replica-") for item in
                           cluster.kube.list_objects("coordination.k8s.io/v1", "Lease", cluster.namespace)),
               timeout=15, interval=0.1, message="the replica's Lease")
    before = cluster.last_seq()
    r, took = gw.post_kernel("pod_echo", env, timeout=30)
    assert r.status_code == 403, f"{r.status_code} {r.text[:300]}"
    assert text in r.json()["message"], r.json()
    # the replica's own Lease (its heartbeat, written on a timer) is not part of a start
    writes = [q for q in cluster.gateway_requests(since=before) if q["method"] != "GET" and not _replica_lease(q)]
    assert writes == [], writes
    assert cluster.kernel_objects() == []


@pytest.mark.parametrize("env", [{"KERNEL_UID": "root"}, {"KERNEL_CPUS": "lots"}, {"KERNEL_IMAGE": "bad image"}],
                         ids=["uid-text", "cpus-text", "image-space"])
def test_malformed_requests_are_400(gw, cluster, env):
    r, _ = gw.post_kernel("pod_echo", env, timeout=30)
    assert r.status_code == 400, f"{r.status_code} {r.text[:300]}"
    assert cluster.kernel_objects() == []


def test_resources_within_bounds_are_requested(gw, cluster):
    kid = gw.start_kernel("pod_echo", {"KERNEL_CPUS": "1500m", "KERNEL_MEMORY": "2Gi", "KERNEL_CPUS_LIMIT": "2",
                                       "KERNEL_UID": "1234", "KERNEL_GID": "4321"})
    pod = cluster.kernel_pod(kid)
    c = pod["spec"]["containers"][0]
    # the memory limit is the gateway default (2Gi), raised to the request
    assert c["resources"] == {"requests": {"cpu": "1500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    sc = pod["spec"]["securityContext"]
    assert (sc["runAsUser"], sc["runAsGroup"], sc["fsGroup"]) == (1234, 4321, 4321)
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()
