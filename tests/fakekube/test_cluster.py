"""FakeCluster against behaviours Kubernetes documents (kubernetes.io/docs):

- Deployments, "Rolling Update Deployment": with maxUnavailable 0 the number of available pods never drops below
  the desired count, at most replicas + maxSurge pods exist, and old pods go only after new ones are Ready; a new
  ReplicaSet whose pods never pass their readiness probe stalls the rollout with the old pods kept.
- Secrets / ConfigMaps mounted as volumes, "Mounted ConfigMaps are updated automatically": the kubelet refreshes
  the files on its periodic sync, and the AtomicWriter swaps the hidden ``..data`` symlink to a new timestamped
  directory; the visible names are symlinks through ``..data``.
- Persistent volumes, "Access Modes": ReadWriteOnce can be mounted by several pods on one node; a pod on another
  node cannot attach it (the attach/detach controller's Multi-Attach error, pod left ContainerCreating).
- Scheduling: nodeSelector, required node affinity and taints/tolerations; an unschedulable pod stays Pending with
  PodScheduled=False, reason Unschedulable and the scheduler's "0/N nodes are available: ..." message, and is
  scheduled once a node fits.
- DNS for Services and Pods: ``name``, ``name.ns``, ``name.ns.svc``, ``name.ns.svc.cluster.local`` resolve inside
  a pod to the Service's cluster IP, which forwards to a ready endpoint; a pod's hostname is its name.
- DaemonSets: one pod per eligible node; tainted nodes only with a toleration.
"""

from __future__ import annotations

import base64
import os
import sys
import threading
import time

import pytest

from fakekube.cluster import FakeCluster
from fakekube.testing import wait_until

PY = sys.executable
NS = "default"


@pytest.fixture
def cluster_factory(fake_kube_factory, tmp_path_factory):
    made: list[FakeCluster] = []

    def make(nodes=None, **kw):
        server = fake_kube_factory(graceful_pod_deletion=True)
        kw.setdefault("volume_refresh_delay", 0.5)
        kw.setdefault("workdir", tmp_path_factory.mktemp("cluster"))
        c = FakeCluster(server, nodes, **kw).start()
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
        c.server.stop()


def api(c: FakeCluster):
    return c.client


def pods(c: FakeCluster, selector: str = "") -> list[dict]:
    return c.client.get(f"/api/v1/namespaces/{NS}/pods", **({"labelSelector": selector} if selector else {}))["items"]


def ready(p: dict) -> bool:
    return any(x["type"] == "Ready" and x["status"] == "True" for x in (p.get("status") or {}).get("conditions") or [])


def http_server_container(version: str, port: int = 8080) -> dict:
    return {"name": "web", "image": "python:3.12", "command": ["python", "-m", "http.server", str(port),
                                                              "--bind", "0.0.0.0"],
            "env": [{"name": "VERSION", "value": version}],
            "ports": [{"name": "http", "containerPort": port}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}


def test_rollout_with_max_unavailable_zero_keeps_availability(cluster_factory):
    c = cluster_factory()
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"terminationGracePeriodSeconds": 5,
                                             "containers": [http_server_container("v1")]}}}}
    path = f"/apis/apps/v1/namespaces/{NS}/deployments"
    c.client.post(path, deploy)
    wait_until(lambda: (c.client.get(f"{path}/web").get("status") or {}).get("availableReplicas") == 2, timeout=30,
               message="2 available replicas")
    first = {p["metadata"]["name"] for p in pods(c, "app=web")}
    assert len(first) == 2 and all(ready(p) for p in pods(c, "app=web"))

    samples: list[tuple[int, int, set, set]] = []
    stop = threading.Event()

    def observe():
        while not stop.is_set():
            items = [p for p in pods(c, "app=web") if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            live = [p for p in items]
            samples.append((sum(1 for p in items if ready(p)), len(live),
                            {p["metadata"]["name"] for p in items if ready(p)},
                            {p["metadata"]["name"] for p in items}))
            time.sleep(0.05)

    t = threading.Thread(target=observe, daemon=True)
    t.start()
    d = c.client.get(f"{path}/web")
    d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "v2"
    c.client.put(f"{path}/web", d)

    def rolled():
        st = c.client.get(f"{path}/web").get("status") or {}
        now = pods(c, "app=web")
        return st.get("updatedReplicas") == 2 and st.get("availableReplicas") == 2 and len(now) == 2 and \
            not ({p["metadata"]["name"] for p in now} & first) and all(ready(p) for p in now)

    wait_until(rolled, timeout=60, message="the rollout to complete")
    stop.set()
    t.join(timeout=5)
    assert samples, "observed the rollout"
    assert min(s[0] for s in samples) >= 2, "maxUnavailable 0: never fewer than 2 ready pods"
    assert max(s[1] for s in samples) <= 3, "maxSurge 1: never more than 3 pods"
    # the order: an old pod is removed only after a new one became ready
    for i, (_, _, ready_names, names) in enumerate(samples):
        gone_old = first - names
        if gone_old:
            assert len(ready_names - first) >= len(gone_old), f"old pod(s) {gone_old} gone before replacements " \
                                                              f"were ready (sample {i})"
    rs = c.client.get(f"/apis/apps/v1/namespaces/{NS}/replicasets")["items"]
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, 2], "the old ReplicaSet is scaled to 0, not deleted"
    new_rs = next(r for r in rs if r["spec"]["replicas"] == 2)
    assert new_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert all(p["metadata"]["labels"]["pod-template-hash"] == new_rs["metadata"]["labels"]["pod-template-hash"]
               for p in pods(c, "app=web"))
    reasons = [e["message"] for e in c.client.get(f"/api/v1/namespaces/{NS}/events")["items"]
               if e["reason"] == "ScalingReplicaSet"]
    assert any("Scaled up replica set" in m for m in reasons) and any("Scaled down" in m for m in reasons)

    # the readiness probe is executed against the process: a template whose process never listens stalls it
    d = c.client.get(f"{path}/web")
    d["spec"]["template"]["spec"]["containers"][0]["command"] = ["python", "-c", "import time; time.sleep(600)"]
    c.client.put(f"{path}/web", d)
    wait_until(lambda: len(pods(c, "app=web")) == 3, timeout=20, message="the surge pod")
    time.sleep(3)
    now = pods(c, "app=web")
    assert len(now) == 3 and sum(1 for p in now if ready(p)) == 2, "the unready new pod keeps both old ones"
    stuck = next(p for p in now if not ready(p))
    assert stuck["status"]["phase"] == "Running"
    assert c.client.get(f"{path}/web")["status"]["unavailableReplicas"] == 1


def test_secret_volume_refresh_uses_the_atomic_data_swap(cluster_factory):
    c = cluster_factory(volume_refresh_delay=1.0)
    c.client.post(f"/api/v1/namespaces/{NS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                       "metadata": {"name": "conf"},
                                                       "stringData": {"a": "one", "b": "uno"}})
    script = ("import os, time\n"
              "last = None\n"
              "for _ in range(6000):\n"
              "    d = os.path.realpath('/etc/conf/..data')\n"
              "    v = open(d + '/a').read() + '/' + open(d + '/b').read()\n"
              "    if v != last:\n"
              "        print('seen', v, flush=True); last = v\n"
              "    time.sleep(0.02)\n")
    c.client.post(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
        "spec": {"containers": [{"name": "r", "image": "python:3.12", "command": ["python", "-c", script],
                                 "volumeMounts": [{"name": "conf", "mountPath": "/etc/conf", "readOnly": True}]}],
                 "volumes": [{"name": "conf", "secret": {"secretName": "conf"}}]}})
    wait_until(lambda: c.client.get(f"/api/v1/namespaces/{NS}/pods/reader")["status"].get("phase") == "Running",
               timeout=20, message="reader running")
    kl = c.kubelet_of(NS, "reader")
    vol = kl.pod_dir(NS, "reader") / "volumes" / "conf"
    assert os.readlink(vol / "a") == "..data/a" and os.readlink(vol / "b") == "..data/b"
    first = os.readlink(vol / "..data")
    assert first.startswith("..") and (vol / first / "a").read_text() == "one"
    wait_until(lambda: "seen one/uno" in (kl.read_log(NS, "reader") or ""), timeout=10, message="first read")

    t0 = time.monotonic()
    c.client.merge_patch(f"/api/v1/namespaces/{NS}/secrets/conf",
                         {"data": {"a": base64.b64encode(b"two").decode(), "b": base64.b64encode(b"dos").decode()}})
    wait_until(lambda: "seen two/dos" in (kl.read_log(NS, "reader") or ""), timeout=10,
               message="the process to see the update")
    elapsed = time.monotonic() - t0
    assert elapsed <= 1.0 + 2.0, f"refreshed within the sync delay ({elapsed:.2f}s)"
    second = os.readlink(vol / "..data")
    assert second != first and not (vol / first).exists(), "..data points to a new dir; the old one is gone"
    assert (vol / "a").read_text() == "two"
    seen = [line for line in kl.read_log(NS, "reader").splitlines() if line.startswith("seen")]
    assert seen == ["seen one/uno", "seen two/dos"], "never a mix of old and new files through ..data"

    # a removed key disappears, a new one appears
    s = c.client.get(f"/api/v1/namespaces/{NS}/secrets/conf")
    s["data"] = {"a": base64.b64encode(b"three").decode(), "c": base64.b64encode(b"new").decode()}
    c.client.put(f"/api/v1/namespaces/{NS}/secrets/conf", s)
    wait_until(lambda: (vol / "c").exists() and not os.path.lexists(vol / "b"), timeout=10, message="key set change")
    assert (vol / "c").read_text() == "new"


def test_read_write_once_claim_across_nodes(cluster_factory):
    c = cluster_factory([{"name": "node-a"}, {"name": "node-b"}])
    c.client.post(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    wait_until(lambda: (c.client.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data").get("status") or {})
               .get("phase") == "Bound", timeout=10, message="the claim bound")

    def pod(name: str, node: str, text: str) -> dict:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "terminationGracePeriodSeconds": 2,
                         "containers": [{"name": "c", "image": "python:3.12", "command": [
                             "python", "-c", f"import time; open('/data/{name}', 'w').write({text!r}); "
                                             f"print(sorted(__import__('os').listdir('/data')), flush=True); "
                                             f"time.sleep(600)"],
                             "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                         "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}

    def phase(name):
        return (c.client.get(f"/api/v1/namespaces/{NS}/pods/{name}").get("status") or {}).get("phase")

    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("writer-a", "node-a", "A"))
    wait_until(lambda: phase("writer-a") == "Running", timeout=20, message="writer-a running")
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("other-a", "node-a", "A2"))
    wait_until(lambda: phase("other-a") == "Running", timeout=20, message="a second pod on the same node")
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("writer-b", "node-b", "B"))

    def multi_attach():
        evs = c.client.get(f"/api/v1/namespaces/{NS}/events", fieldSelector="involvedObject.name=writer-b")["items"]
        return [e for e in evs if e["reason"] == "FailedAttachVolume"]

    ev = wait_until(multi_attach, timeout=20, message="FailedAttachVolume")[0]
    assert ev["type"] == "Warning" and ev["source"]["component"] == "attachdetach-controller"
    assert ev["message"].startswith('Multi-Attach error for volume "pvc-') and \
        "Volume is already used by pod(s) other-a, writer-a" in ev["message"], ev["message"]
    b = c.client.get(f"/api/v1/namespaces/{NS}/pods/writer-b")
    assert b["spec"]["nodeName"] == "node-b" and b["status"]["phase"] == "Pending"
    assert b["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"

    for name in ("writer-a", "other-a"):
        c.client.delete(f"/api/v1/namespaces/{NS}/pods/{name}")
    wait_until(lambda: phase("writer-b") == "Running", timeout=30, message="writer-b once detached from node-a")
    kl = c.kubelet_of(NS, "writer-b")
    wait_until(lambda: "['other-a', 'writer-a', 'writer-b']" in (kl.read_log(NS, "writer-b") or ""), timeout=10,
               message="the same volume's files")


def test_required_pod_affinity_places_a_pod_beside_its_peer(cluster_factory):
    c = cluster_factory([{"name": "node-a"}, {"name": "node-b"}, {"name": "node-c"}])

    def pod(name: str, labels: dict, spec: dict) -> dict:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                "spec": {"terminationGracePeriodSeconds": 1, **spec,
                         "containers": [{"name": "c", "image": "python:3.12",
                                         "command": ["python", "-c", "import time; time.sleep(600)"]}]}}

    def get(name):
        return c.client.get(f"/api/v1/namespaces/{NS}/pods/{name}")

    beside = {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "notebook"}}, "topologyKey": "kubernetes.io/hostname"}]}}}
    # no peer yet: Pending with the scheduler's reason
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("kernel", {"app": "kernel"}, beside))
    msg = wait_until(lambda: next((cd["message"] for cd in (get("kernel").get("status") or {}).get("conditions") or []
                                   if cd["type"] == "PodScheduled" and cd["status"] == "False"), None),
                     timeout=10, message="the kernel pending")
    assert "3 node(s) didn't match pod affinity rules" in msg, msg
    # the peer on node-c (the least loaded would be another node): the kernel follows it there
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("filler-a", {}, {"nodeSelector": {"kubernetes.io/hostname": "node-a"}}))
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("notebook", {"app": "notebook"},
                                                        {"nodeSelector": {"kubernetes.io/hostname": "node-c"}}))
    wait_until(lambda: get("kernel")["spec"].get("nodeName"), timeout=20, message="the kernel scheduled")
    assert get("kernel")["spec"]["nodeName"] == "node-c"
    # a peer in another namespace does not count unless the term names it
    c.client.post(f"/api/v1/namespaces/{NS}/pods", pod("kernel-2", {}, {"affinity": {"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": {"app": "notebook"}},
                                                            "namespaces": ["elsewhere"],
                                                            "topologyKey": "kubernetes.io/hostname"}]}}}))
    time.sleep(1.0)
    assert not get("kernel-2")["spec"].get("nodeName")


def test_unschedulable_pod_stays_pending_with_the_schedulers_reason(cluster_factory):
    c = cluster_factory([
        {"name": "node-a", "labels": {"disk": "ssd"}},
        {"name": "node-b", "labels": {"disk": "hdd"},
         "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
        {"name": "node-c", "labels": {"disk": "ssd", "zone": "z1"}}])
    container = [{"name": "c", "image": "python:3.12", "command": ["python", "-c", "import time; time.sleep(600)"]}]

    def create(name, **spec):
        c.client.post(f"/api/v1/namespaces/{NS}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                                        "spec": dict(spec, containers=container)})

    def get(name):
        return c.client.get(f"/api/v1/namespaces/{NS}/pods/{name}")

    def sched_cond(name):
        return next((x for x in (get(name).get("status") or {}).get("conditions") or []
                     if x["type"] == "PodScheduled"), None)

    create("wants-hdd", nodeSelector={"disk": "hdd"})
    cond = wait_until(lambda: sched_cond("wants-hdd"), timeout=10, message="PodScheduled condition")
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert cond["message"] == ("0/3 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
                               "1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are "
                               "available: 3 Preemption is not helpful for scheduling."), cond["message"]
    p = get("wants-hdd")
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    evs = c.client.get(f"/api/v1/namespaces/{NS}/events", fieldSelector="involvedObject.name=wants-hdd")["items"]
    assert any(e["reason"] == "FailedScheduling" and e["source"]["component"] == "default-scheduler" and
               e["message"] == cond["message"] for e in evs)

    create("tolerates", nodeSelector={"disk": "hdd"},
           tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}])
    wait_until(lambda: get("tolerates")["spec"].get("nodeName") == "node-b", timeout=10, message="bound to node-b")
    create("affinity", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}}})
    wait_until(lambda: get("affinity")["spec"].get("nodeName") == "node-c", timeout=10, message="bound to node-c")
    wait_until(lambda: get("affinity")["status"].get("phase") == "Running", timeout=20, message="affinity running")
    create("nowhere", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z9"]}]}]}}})
    cond = wait_until(lambda: sched_cond("nowhere"), timeout=10, message="nowhere unschedulable")
    assert "3 node(s) didn't match Pod's node affinity/selector" in cond["message"] or \
        "2 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint" in cond["message"]

    assert not get("wants-hdd")["spec"].get("nodeName"), "still Pending"
    node = c.client.get("/api/v1/nodes/node-c")
    node["metadata"]["labels"]["disk"] = "hdd"
    c.client.put("/api/v1/nodes/node-c", node)
    wait_until(lambda: get("wants-hdd")["spec"].get("nodeName") == "node-c", timeout=10,
               message="scheduled once a node fits")


def test_service_names_resolve_inside_a_pod(cluster_factory):
    c = cluster_factory()
    c.client.post(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "labels": {"app": "web"}},
        "spec": {"containers": [http_server_container("v1", 8080)]}})
    c.client.post(f"/api/v1/namespaces/{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    c.client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    script = ("import socket, urllib.request\n"
              "print('hostname', socket.gethostname())\n"
              "for n in ['web.default', 'web.default.svc', 'web.default.svc.cluster.local']:\n"
              "    print('resolve', n, socket.gethostbyname(n))\n"
              "try:\n"
              "    socket.gethostbyname('web')\n"
              "    print('short name resolves')\n"
              "except OSError:\n"
              "    print('short name is namespace-local')\n"
              "with urllib.request.urlopen('http://web.default/', timeout=5) as r:\n"
              "    print('http', r.status)\n"
              "import time; time.sleep(600)\n")
    ip = c.service_ip(NS, "web")
    def endpoint_ready():
        eps = c.client.get(f"/api/v1/namespaces/{NS}/endpoints", fieldSelector="metadata.name=web")["items"]
        return eps and any(s.get("addresses") for s in eps[0].get("subsets") or [])

    wait_until(endpoint_ready, timeout=20, message="a ready endpoint")
    ep = c.client.get(f"/api/v1/namespaces/{NS}/endpoints/web")
    web_ip = c.client.get(f"/api/v1/namespaces/{NS}/pods/web-1")["status"]["podIP"]
    assert ep["subsets"][0]["addresses"][0]["ip"] == web_ip and ep["subsets"][0]["ports"][0]["port"] == 8080
    c.client.post("/api/v1/namespaces/other/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
        "spec": {"containers": [{"name": "c", "image": "python:3.12", "command": ["python", "-u", "-c", script]}]}})
    kl = wait_until(lambda: c.kubelet_of("other", "client"), timeout=10, message="client pod")
    try:
        log = wait_until(lambda: "http " in (kl.read_log("other", "client") or "") and kl.read_log("other", "client"),
                         timeout=20, message="the client's output")
    except AssertionError as e:
        raise AssertionError(f"{e}\nclient log:\n{kl.read_log('other', 'client')}") from None
    assert "hostname client" in log
    for n in ("web.default", "web.default.svc", "web.default.svc.cluster.local"):
        assert f"resolve {n} {ip}" in log, log
    assert "short name is namespace-local" in log, "`web` alone resolves only in its own namespace"
    assert "http 200" in log, "the cluster IP forwards to the ready endpoint"
    assert ip.startswith(c.server.store.service_ip_prefix + "."), ip
    with open("/etc/hosts") as f:
        assert "web.default" not in f.read(), "the host's /etc/hosts is untouched"


def test_daemonset_runs_one_pod_per_eligible_node(cluster_factory):
    c = cluster_factory([{"name": "node-a"}, {"name": "node-b"},
                         {"name": "node-c", "taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}])
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "a", "image": "python:3.12", "command": [
                                    "python", "-c", "import time; time.sleep(600)"]}]}}}}
    path = f"/apis/apps/v1/namespaces/{NS}/daemonsets"
    c.client.post(path, ds)

    def nodes_running():
        return sorted(p["spec"].get("nodeName") for p in pods(c, "app=agent") if p["status"].get("phase") == "Running")

    wait_until(lambda: nodes_running() == ["node-a", "node-b"], timeout=20, message="one pod on each untainted node")
    st = wait_until(lambda: (c.client.get(f"{path}/agent").get("status") or {}).get("numberReady") == 2 and
                    c.client.get(f"{path}/agent")["status"], timeout=10, message="DaemonSet status")
    assert st["desiredNumberScheduled"] == 2 and st["currentNumberScheduled"] == 2
    d = c.client.get(f"{path}/agent")
    d["spec"]["template"]["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    c.client.put(f"{path}/agent", d)
    wait_until(lambda: nodes_running() == ["node-a", "node-b", "node-c"], timeout=30,
               message="the tolerating template reaches the tainted node")
    assert len(pods(c, "app=agent")) == 3
