"""A small cluster around the fake API server: named nodes (each a kubelet double), a scheduler, the workload
controllers (Deployment -> ReplicaSet -> Pod, DaemonSet), endpoints, a volume binder and a kube-proxy double.

Each component works through the HTTP API only (User-Agent ``fakekube-...``: internal, untouched by faults), as
its real counterpart does. Behaviours follow Kubernetes' documentation; see README.md ("FakeCluster").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import select
import socket
import threading
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from .client import KubeClient, KubeClientError
from .kubelet import FakeKubelet

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # rand.SafeEncodeString's alphabet (no vowels, no look-alikes)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict, collisions: int = 0) -> str:
    digest = hashlib.sha256((json.dumps(template, sort_keys=True) + str(collisions)).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def pod_ready(pod: dict) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def pod_active(pod: dict) -> bool:
    """Counted by ReplicaSets: not terminating, not terminal."""
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def matches(selector: dict | None, labels: dict | None) -> bool:
    """A LabelSelector (matchLabels + matchExpressions); an empty selector matches everything."""
    labels = labels or {}
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def resolve_int_or_percent(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        x = int(value[:-1]) * total / 100
        return int(math.ceil(x) if round_up else math.floor(x))
    return int(value)


def owned_by(obj: dict, owner: dict) -> bool:
    return any(r.get("uid") == owner["metadata"]["uid"] and r.get("controller")
               for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict, kind: str, api_version: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


# ----------------------------------------------------------------------------------------------------------------
# scheduling predicates (kube-scheduler's NodeName, NodeUnschedulable, NodeAffinity, TaintToleration plugins)
# ----------------------------------------------------------------------------------------------------------------

def _node_term_matches(term: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    for e in term.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        have = labels.get(key)
        ok = {"In": have is not None and have in values, "NotIn": have is None or have not in values,
              "Exists": have is not None, "DoesNotExist": have is None,
              "Gt": have is not None and have.lstrip("-").isdigit() and int(have) > int(values[0]),
              "Lt": have is not None and have.lstrip("-").isdigit() and int(have) < int(values[0])}.get(op, False)
        if not ok:
            return False
    for e in term.get("matchFields") or []:
        have = node["metadata"]["name"] if e["key"] == "metadata.name" else None
        if e["operator"] == "In" and have not in (e.get("values") or []):
            return False
        if e["operator"] == "NotIn" and have in (e.get("values") or []):
            return False
    return bool(term.get("matchExpressions") or term.get("matchFields"))


def node_affinity_matches(pod_spec: dict, node: dict) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required:  # the terms are ORed; the expressions in a term are ANDed
        return any(_node_term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])
    return True


def _labels_match(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        have, values = labels.get(e["key"]), e.get("values") or []
        ok = {"In": have is not None and have in values, "NotIn": have is None or have not in values,
              "Exists": have is not None, "DoesNotExist": have is None}.get(e["operator"], False)
        if not ok:
            return False
    return True


def pod_affinity_matches(pod_spec: dict, namespace: str | None, node: dict, nodes: list[dict],
                         pods: list[dict] | None) -> bool:
    """kube-scheduler's InterPodAffinity plugin, required terms only: each term needs an active pod matching its
    selector (in its namespaces, default the pod's) on a node with the same value of its topology key."""
    terms = (((pod_spec.get("affinity") or {}).get("podAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution")) or []
    if not terms:
        return True
    by_name = {n["metadata"]["name"]: n for n in nodes}
    for term in terms:
        key = term.get("topologyKey") or "kubernetes.io/hostname"
        here = (node["metadata"].get("labels") or {}).get(key, node["metadata"]["name"] if key == "kubernetes.io/hostname" else None)
        namespaces = term.get("namespaces") or [namespace]
        found = False
        for other in pods or []:
            node_name = (other.get("spec") or {}).get("nodeName")
            if not node_name or node_name not in by_name or not pod_active(other) or \
                    other["metadata"].get("namespace") not in namespaces or \
                    not _labels_match(term.get("labelSelector") or {}, other["metadata"].get("labels") or {}):
                continue
            there_node = by_name[node_name]
            there = (there_node["metadata"].get("labels") or {}).get(
                key, node_name if key == "kubernetes.io/hostname" else None)
            if here is not None and here == there:
                found = True
                break
        if not found:
            return False
    return True


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator", "Equal")
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t["key"] != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def untolerated_taint(pod_spec: dict, node: dict) -> dict | None:
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod_spec.get("tolerations"), taint):
            return taint
    return None


def unschedulable_message(pod_spec: dict, nodes: list[dict], pods: list[dict] | None = None,
                          namespace: str | None = None, all_nodes: list[dict] | None = None) -> str | None:
    """None when some node fits; else kube-scheduler's FailedScheduling message. ``pods`` (the cluster's) enable
    required pod affinity."""
    reasons: dict[str, int] = {}
    fits = 0
    for node in nodes:
        if pod_spec.get("nodeName") and pod_spec["nodeName"] != node["metadata"]["name"]:
            reasons["node(s) didn't match the requested node name"] = \
                reasons.get("node(s) didn't match the requested node name", 0) + 1
            continue
        if (node.get("spec") or {}).get("unschedulable") and not tolerates(
                pod_spec.get("tolerations"), {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            reasons["node(s) were unschedulable"] = reasons.get("node(s) were unschedulable", 0) + 1
            continue
        if not node_affinity_matches(pod_spec, node):
            r = "node(s) didn't match Pod's node affinity/selector"
            reasons[r] = reasons.get(r, 0) + 1
            continue
        taint = untolerated_taint(pod_spec, node)
        if taint is not None:
            r = f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
            reasons[r] = reasons.get(r, 0) + 1
            continue
        if not pod_affinity_matches(pod_spec, namespace, node, all_nodes or nodes, pods):
            r = "node(s) didn't match pod affinity rules"
            reasons[r] = reasons.get(r, 0) + 1
            continue
        fits += 1
    if fits:
        return None
    n = len(nodes)
    detail = ", ".join(f"{count} {r}" for r, count in sorted(reasons.items()))
    return (f"0/{n} nodes are available: {detail}. preemption: 0/{n} nodes are available: "
            f"{n} Preemption is not helpful for scheduling.")


# ----------------------------------------------------------------------------------------------------------------
# kube-proxy double
# ----------------------------------------------------------------------------------------------------------------

class _ServicePort(threading.Thread):
    """Listens on clusterIP:port and splices each connection to a ready endpoint (round robin)."""

    def __init__(self, ip: str, port: int):
        super().__init__(name=f"proxy-{ip}:{port}", daemon=True)
        self.ip, self.port = ip, port
        self.backends: list[tuple[str, int]] = []
        self._next = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(64)
        self.sock.settimeout(0.3)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()
        self.sock.close()

    def _serve(self, conn: socket.socket) -> None:
        backends = list(self.backends)
        if not backends:  # no endpoints: kube-proxy rejects (iptables REJECT gives "connection refused")
            conn.close()
            return
        backend = backends[self._next % len(backends)]
        self._next += 1
        try:
            up = socket.create_connection(backend, timeout=5)
        except OSError:
            conn.close()
            return
        up.settimeout(None)
        conn.settimeout(None)
        pair = {conn: up, up: conn}
        try:
            while not self.stopped.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            pass
        finally:
            conn.close()
            up.close()

    def stop(self) -> None:
        self.stopped.set()


# ----------------------------------------------------------------------------------------------------------------
# the controller manager + scheduler loop
# ----------------------------------------------------------------------------------------------------------------

class ControllerManager:
    """Deployment, ReplicaSet, DaemonSet, Endpoints and PVC-binding controllers, the scheduler and kube-proxy,
    all level-based: every ``period`` seconds each one reads the current state and converges it."""

    def __init__(self, client: KubeClient, period: float = 0.2):
        self.client = client
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fakekube-controller-manager", daemon=True)
        self.proxies: dict[tuple[str, int], _ServicePort] = {}
        self.errors: list[str] = []
        self._events: dict[tuple[str, str, str], tuple[str, int]] = {}

    def start(self) -> "ControllerManager":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for p in self.proxies.values():
            p.stop()
        for p in self.proxies.values():
            p.join(timeout=2)
        self.proxies.clear()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.sync_once()
            except KubeClientError as e:
                if e.status not in (404, 409):
                    self.errors.append(f"{e.status} {e.body}")
            except OSError:
                pass
            except Exception:  # pragma: no cover - keep running, make the bug visible
                self.errors.append(traceback.format_exc())
                traceback.print_exc()

    def _list(self, path: str) -> list[dict]:
        return self.client.get(path).get("items") or []

    def sync_once(self) -> None:
        nodes = self._list("/api/v1/nodes")
        pods = self._list("/api/v1/pods")
        self._sync_deployments(pods)
        self._sync_replicasets(pods)
        self._sync_daemonsets(pods, nodes)
        self._bind_claims()
        self._schedule(self._list("/api/v1/pods"), nodes)
        self._sync_endpoints(self._list("/api/v1/pods"))

    def event(self, obj: dict, etype: str, reason: str, message: str, component: str) -> None:
        meta = obj["metadata"]
        key = (meta["uid"], reason, message)
        ns = meta.get("namespace") or "default"
        path = f"/api/v1/namespaces/{ns}/events"
        try:
            if key in self._events:
                name, count = self._events[key]
                self.client.merge_patch(f"{path}/{name}", {"count": count + 1, "lastTimestamp": _now()})
                self._events[key] = (name, count + 1)
                return
            name = f"{meta['name']}.{uuid.uuid4().hex[:16]}"
            self.client.post(path, {
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""),
                                   "namespace": ns, "name": meta["name"], "uid": meta["uid"]},
                "reason": reason, "message": message, "type": etype, "source": {"component": component},
                "firstTimestamp": _now(), "lastTimestamp": _now(), "count": 1, "reportingComponent": component})
            self._events[key] = (name, 1)
        except KubeClientError:
            pass

    # ------------------------------------------------------------------------------------------ deployments

    def _sync_deployments(self, pods: list[dict]) -> None:
        all_rs = self._list("/apis/apps/v1/replicasets")
        for d in self._list("/apis/apps/v1/deployments"):
            if d["metadata"].get("deletionTimestamp"):
                continue
            d.setdefault("kind", "Deployment")
            d.setdefault("apiVersion", "apps/v1")
            mine = [rs for rs in all_rs if owned_by(rs, d)]
            self._sync_deployment(d, mine, pods)

    def _rs_path(self, ns: str, name: str = "") -> str:
        return f"/apis/apps/v1/namespaces/{ns}/replicasets" + (f"/{name}" if name else "")

    def _scale_rs(self, rs: dict, replicas: int, d: dict) -> None:
        if rs["spec"].get("replicas", 1) == replicas:
            return
        old = rs["spec"].get("replicas", 1)
        self.client.merge_patch(self._rs_path(rs["metadata"]["namespace"], rs["metadata"]["name"]),
                                {"spec": {"replicas": replicas}})
        rs["spec"]["replicas"] = replicas
        verb = "up" if replicas > old else "down"
        self.event(d, "Normal", "ScalingReplicaSet",
                   f"Scaled {verb} replica set {rs['metadata']['name']} from {old} to {replicas}",
                   "deployment-controller")

    def _sync_deployment(self, d: dict, mine: list[dict], pods: list[dict]) -> None:
        meta, spec = d["metadata"], d["spec"]
        ns = meta["namespace"]
        template = json.loads(json.dumps(spec["template"]))
        h = template_hash(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        new_rs = next((rs for rs in mine if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == h), None)
        revisions = [int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")) for rs in mine]
        replicas = int(spec.get("replicas", 1))
        strategy = spec.get("strategy") or {}
        if new_rs is None:
            name = f"{meta['name']}-{h}"
            selector = json.loads(json.dumps(spec["selector"]))
            selector.setdefault("matchLabels", {})[HASH_LABEL] = h
            start = 0
            if strategy.get("type") != "Recreate":
                surge = resolve_int_or_percent((strategy.get("rollingUpdate") or {}).get("maxSurge", "25%"),
                                               replicas, True)
                total = sum(rs["spec"].get("replicas", 1) for rs in mine)
                start = max(0, min(replicas, replicas + surge - total)) if mine else replicas
            new_rs = self.client.post(self._rs_path(ns), {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": ns, "labels": template["metadata"]["labels"],
                             "annotations": {REVISION: str(max(revisions, default=0) + 1),
                                             "deployment.kubernetes.io/desired-replicas": str(replicas),
                                             "deployment.kubernetes.io/max-replicas": str(replicas)},
                             "ownerReferences": [owner_ref(d, "Deployment", "apps/v1")]},
                "spec": {"replicas": start, "minReadySeconds": spec.get("minReadySeconds", 0),
                         "selector": selector, "template": template}})
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled up replica set {name} from 0 to {start}", "deployment-controller")
            mine.append(new_rs)
        elif int((new_rs["metadata"].get("annotations") or {}).get(REVISION, "0")) < max(revisions, default=0):
            # rolling back to an older template: it becomes the newest revision
            self.client.merge_patch(self._rs_path(ns, new_rs["metadata"]["name"]),
                                    {"metadata": {"annotations": {REVISION: str(max(revisions) + 1)}}})
        olds = sorted((rs for rs in mine if rs is not new_rs), key=lambda r: r["metadata"]["creationTimestamp"])

        def rs_pods(rs: dict) -> list[dict]:
            return [p for p in pods if owned_by(p, rs) and pod_active(p)]

        def available(rs: dict) -> int:
            return sum(1 for p in rs_pods(rs) if pod_ready(p))

        if spec.get("paused"):
            pass
        elif strategy.get("type") == "Recreate":
            # kill all old pods first; start the new ones only once none is left running
            for rs in olds:
                self._scale_rs(rs, 0, d)
            if not any(p for rs in olds for p in pods if owned_by(p, rs)):
                self._scale_rs(new_rs, replicas, d)
        else:
            ru = strategy.get("rollingUpdate") or {}
            max_surge = resolve_int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
            max_unavailable = resolve_int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
            if max_surge == 0 and max_unavailable == 0:
                max_unavailable = 1  # the API rejects both 0; keep progress possible
            # scale up the new ReplicaSet within replicas + maxSurge
            total = sum(rs["spec"].get("replicas", 1) for rs in mine)
            if new_rs["spec"].get("replicas", 1) < replicas:
                room = replicas + max_surge - total
                if room > 0:
                    self._scale_rs(new_rs, min(replicas, new_rs["spec"].get("replicas", 1) + room), d)
            elif new_rs["spec"].get("replicas", 1) > replicas:
                self._scale_rs(new_rs, replicas, d)
            # scale down old ReplicaSets while at least replicas - maxUnavailable pods stay available
            min_available = replicas - max_unavailable
            all_available = sum(available(rs) for rs in mine)
            # unhealthy old pods go first: they do not count as available anyway
            for rs in olds:
                unhealthy = rs["spec"].get("replicas", 1) - available(rs)
                if unhealthy > 0 and rs["spec"].get("replicas", 1) > 0:
                    self._scale_rs(rs, rs["spec"]["replicas"] - min(unhealthy, rs["spec"]["replicas"]), d)
            can_remove = all_available - min_available
            new_unavailable = new_rs["spec"].get("replicas", 1) - available(new_rs)
            for rs in olds:
                if can_remove <= 0:
                    break
                n = min(can_remove, rs["spec"].get("replicas", 1))
                if n > 0 and new_unavailable >= 0:
                    self._scale_rs(rs, rs["spec"]["replicas"] - n, d)
                    can_remove -= n
        # old ReplicaSets beyond revisionHistoryLimit go (empty ones only)
        limit = int(spec.get("revisionHistoryLimit", 10))
        empties = [rs for rs in olds if rs["spec"].get("replicas", 1) == 0 and not rs_pods(rs)]
        for rs in empties[:max(0, len(empties) - limit)]:
            try:
                self.client.delete(self._rs_path(ns, rs["metadata"]["name"]))
            except KubeClientError:
                pass
        self._deployment_status(d, mine, new_rs, rs_pods, available)

    def _deployment_status(self, d: dict, mine: list[dict], new_rs: dict, rs_pods: Callable,
                           available: Callable) -> None:
        replicas = int(d["spec"].get("replicas", 1))
        total = sum(len(rs_pods(rs)) for rs in mine)
        avail = sum(available(rs) for rs in mine)
        updated = len(rs_pods(new_rs))
        ready = avail
        max_unavailable = 0
        if (d["spec"].get("strategy") or {}).get("type") != "Recreate":
            max_unavailable = resolve_int_or_percent(
                ((d["spec"].get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                replicas, False)
        old = d.get("status") or {}
        conds = {c["type"]: c for c in old.get("conditions") or []}
        ts = _now()

        def cond(ctype: str, status: str, reason: str, message: str) -> dict:
            prev = conds.get(ctype)
            return {"type": ctype, "status": status, "reason": reason, "message": message, "lastUpdateTime": ts
                    if not prev or prev.get("reason") != reason else prev.get("lastUpdateTime", ts),
                    "lastTransitionTime": prev["lastTransitionTime"] if prev and prev.get("status") == status
                    else ts}

        is_available = avail >= replicas - max_unavailable
        complete = updated == replicas and avail == replicas and total == replicas
        new_name = new_rs["metadata"]["name"]
        status = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": avail,
                  # as the deployment controller computes it: the ReplicaSets' desired sum minus the available
                  "unavailableReplicas": max(0, sum(rs["spec"].get("replicas", 1) for rs in mine) - avail),
                  "conditions": [
                      cond("Available", "True" if is_available else "False",
                           "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                           "Deployment has minimum availability." if is_available else
                           "Deployment does not have minimum availability."),
                      cond("Progressing", "True", "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                           f'ReplicaSet "{new_name}" has successfully progressed.' if complete else
                           f'ReplicaSet "{new_name}" is progressing.')]}
        for k in ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas", "replicas"):
            if not status[k]:
                del status[k]  # omitempty
        compare = {k: v for k, v in status.items() if k != "conditions"}
        old_compare = {k: v for k, v in old.items() if k in ("observedGeneration", "replicas", "updatedReplicas",
                                                              "readyReplicas", "availableReplicas",
                                                              "unavailableReplicas")}
        old_conds = [(c["type"], c["status"], c.get("reason")) for c in old.get("conditions") or []]
        new_conds = [(c["type"], c["status"], c.get("reason")) for c in status["conditions"]]
        if compare != old_compare or old_conds != new_conds:
            d["status"] = status
            self.client.put(f"/apis/apps/v1/namespaces/{d['metadata']['namespace']}/deployments/"
                            f"{d['metadata']['name']}/status", d)

    # ------------------------------------------------------------------------------------------ replicasets

    def _sync_replicasets(self, pods: list[dict]) -> None:
        for rs in self._list("/apis/apps/v1/replicasets"):
            if rs["metadata"].get("deletionTimestamp"):
                continue
            rs.setdefault("kind", "ReplicaSet")
            rs.setdefault("apiVersion", "apps/v1")
            ns = rs["metadata"]["namespace"]
            mine = [p for p in pods if owned_by(p, rs) and pod_active(p)]
            want = int(rs["spec"].get("replicas", 1))
            if len(mine) < want:
                for _ in range(want - len(mine)):
                    tmpl = json.loads(json.dumps(rs["spec"]["template"]))
                    tmeta = tmpl.get("metadata") or {}
                    pod = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"generateName": f"{rs['metadata']['name']}-", "namespace": ns,
                                        "labels": tmeta.get("labels") or {},
                                        "annotations": tmeta.get("annotations") or {},
                                        "ownerReferences": [owner_ref(rs, "ReplicaSet", "apps/v1")]},
                           "spec": tmpl["spec"]}
                    created = self.client.post(f"/api/v1/namespaces/{ns}/pods", pod)
                    pods.append(created)
                    mine.append(created)
                    self.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                               "replicaset-controller")
            elif len(mine) > want:
                # the controller's deletion order: unscheduled < pending < not ready < ready; newer first
                def rank(p: dict) -> tuple:
                    st = p.get("status") or {}
                    return (bool((p.get("spec") or {}).get("nodeName")), st.get("phase") == "Running", pod_ready(p),
                            "".join(chr(255 - ord(ch)) for ch in p["metadata"]["creationTimestamp"]))
                for p in sorted(mine, key=rank)[:len(mine) - want]:
                    try:
                        self.client.delete(f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}")
                        self.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                                   "replicaset-controller")
                    except KubeClientError:
                        pass
                    mine.remove(p)
            ready = sum(1 for p in mine if pod_ready(p))
            status = {"replicas": len(mine), "fullyLabeledReplicas": len(mine), "readyReplicas": ready,
                      "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
            status = {k: v for k, v in status.items() if v or k == "replicas"}
            if {k: (rs.get("status") or {}).get(k) for k in status} != status or \
                    set(rs.get("status") or {}) - set(status):
                rs["status"] = status
                self.client.put(self._rs_path(ns, rs["metadata"]["name"]) + "/status", rs)

    # ------------------------------------------------------------------------------------------ daemonsets

    def _sync_daemonsets(self, pods: list[dict], nodes: list[dict]) -> None:
        for ds in self._list("/apis/apps/v1/daemonsets"):
            if ds["metadata"].get("deletionTimestamp"):
                continue
            ds.setdefault("kind", "DaemonSet")
            ds.setdefault("apiVersion", "apps/v1")
            ns = ds["metadata"]["namespace"]
            tmpl = ds["spec"]["template"]
            h = template_hash(tmpl)
            tolerations = list(tmpl["spec"].get("tolerations") or []) + [
                {"key": k, "operator": "Exists", "effect": e} for k, e in (
                    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                    ("node.kubernetes.io/unschedulable", "NoSchedule"))]
            mine = [p for p in pods if owned_by(p, ds) and pod_active(p)]
            desired = current = ready = updated = misscheduled = 0
            for node in nodes:
                name = node["metadata"]["name"]
                spec = dict(tmpl["spec"], tolerations=tolerations)
                should = node_affinity_matches(spec, node) and untolerated_taint(spec, node) is None
                on_node = [p for p in mine if p["spec"].get("nodeName") == name or self._ds_target(p) == name]
                if should:
                    desired += 1
                    if not on_node:
                        pod_spec = json.loads(json.dumps(spec))
                        # the DaemonSet controller pins each pod to its node with node affinity, then the
                        # default scheduler binds it
                        pod_spec.setdefault("affinity", {})["nodeAffinity"] = {
                            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}]}}
                        labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
                        labels["controller-revision-hash"] = h
                        created = self.client.post(f"/api/v1/namespaces/{ns}/pods", {
                            "apiVersion": "v1", "kind": "Pod",
                            "metadata": {"generateName": f"{ds['metadata']['name']}-", "namespace": ns,
                                         "labels": labels,
                                         "annotations": (tmpl.get("metadata") or {}).get("annotations") or {},
                                         "ownerReferences": [owner_ref(ds, "DaemonSet", "apps/v1")]},
                            "spec": pod_spec})
                        self.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}",
                                   "daemonset-controller")
                    else:
                        current += 1
                        ready += sum(1 for p in on_node if pod_ready(p))
                        updated += sum(1 for p in on_node
                                       if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == h)
                        for p in on_node:
                            if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != h:
                                self.client.delete(f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}")
                elif on_node:
                    misscheduled += 1
                    for p in on_node:
                        self.client.delete(f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}")
            status = {"desiredNumberScheduled": desired, "currentNumberScheduled": current, "numberReady": ready,
                      "numberAvailable": ready, "updatedNumberScheduled": updated,
                      "numberMisscheduled": misscheduled, "observedGeneration": ds["metadata"].get("generation", 1)}
            if desired - ready:
                status["numberUnavailable"] = desired - ready
            if {k: (ds.get("status") or {}).get(k) for k in status} != status:
                ds["status"] = status
                self.client.put(f"/apis/apps/v1/namespaces/{ns}/daemonsets/{ds['metadata']['name']}/status", ds)

    @staticmethod
    def _ds_target(pod: dict) -> str | None:
        terms = ((((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
                  .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
        for t in terms:
            for f in t.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("values"):
                    return f["values"][0]
        return None

    # ------------------------------------------------------------------------------------------ volumes

    def _bind_claims(self) -> None:
        """Dynamic provisioning with an Immediate default StorageClass: each Pending claim gets its own volume."""
        for pvc in self._list("/api/v1/persistentvolumeclaims"):
            if (pvc.get("status") or {}).get("phase") == "Bound" or pvc["metadata"].get("deletionTimestamp"):
                continue
            ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
            path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"
            volume = f"pvc-{pvc['metadata']['uid']}"
            if not (pvc.get("spec") or {}).get("volumeName"):
                pvc = self.client.merge_patch(path, {
                    "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                                 "pv.kubernetes.io/bound-by-controller": "yes"}},
                    "spec": {"volumeName": volume}})
            spec = pvc.get("spec") or {}
            pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                             "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {})
                                          .get("storage", "1Gi")}}
            self.client.put(path + "/status", pvc)

    # ------------------------------------------------------------------------------------------ scheduler

    def _schedule(self, pods: list[dict], nodes: list[dict]) -> None:
        load: dict[str, int] = {n["metadata"]["name"]: 0 for n in nodes}
        for p in pods:
            if p["spec"].get("nodeName") in load and pod_active(p):
                load[p["spec"]["nodeName"]] += 1
        for pod in pods:
            spec, meta = pod.get("spec") or {}, pod["metadata"]
            if spec.get("nodeName") or meta.get("deletionTimestamp") or \
                    spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                continue
            message = unschedulable_message(spec, nodes, pods, meta["namespace"])
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
            if message is not None:
                conds = (pod.get("status") or {}).get("conditions") or []
                cond = next((c for c in conds if c.get("type") == "PodScheduled"), None)
                if cond is None or cond.get("message") != message:
                    pod.setdefault("status", {})["conditions"] = [c for c in conds if c.get("type") != "PodScheduled"] + [
                        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
                         "lastProbeTime": None, "lastTransitionTime": _now()}]
                    self.client.put(path + "/status", pod)
                    pod.setdefault("kind", "Pod")
                    pod.setdefault("apiVersion", "v1")
                    self.event(pod, "Warning", "FailedScheduling", message, "default-scheduler")
                continue
            fit = [n for n in nodes if unschedulable_message(spec, [n], pods, meta["namespace"], nodes) is None]
            node = min(fit, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
            name = node["metadata"]["name"]
            try:
                self.client.post(path + "/binding", {
                    "apiVersion": "v1", "kind": "Binding", "metadata": {"name": meta["name"],
                                                                        "namespace": meta["namespace"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": name}})
            except KubeClientError:
                continue
            load[name] += 1
            pod.setdefault("kind", "Pod")
            pod.setdefault("apiVersion", "v1")
            self.event(pod, "Normal", "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} to "
                                                   f"{name}", "default-scheduler")

    # ------------------------------------------------------------------------------------------ endpoints, proxy

    def _sync_endpoints(self, pods: list[dict]) -> None:
        services = self._list("/api/v1/services")
        existing = {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in self._list("/api/v1/endpoints")}
        wanted_proxies: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for svc in services:
            meta, spec = svc["metadata"], svc.get("spec") or {}
            selector = spec.get("selector")
            if not selector:
                continue
            ns = meta["namespace"]
            ready, not_ready = [], []
            ports: list[dict] = []
            backends: dict[int, list[tuple[str, int]]] = {}
            for p in pods:
                if p["metadata"]["namespace"] != ns or not matches({"matchLabels": selector},
                                                                   p["metadata"].get("labels")):
                    continue
                ip = (p.get("status") or {}).get("podIP")
                if not ip or not pod_active(p):
                    continue
                addr = {"ip": ip, "nodeName": p["spec"].get("nodeName"),
                        "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                      "uid": p["metadata"]["uid"]}}
                (ready if pod_ready(p) else not_ready).append(addr)
                for sp in spec.get("ports") or []:
                    target = sp.get("targetPort", sp["port"])
                    if isinstance(target, str) and not target.isdigit():
                        target = next((cp.get("containerPort") for c in p["spec"].get("containers") or []
                                       for cp in c.get("ports") or [] if cp.get("name") == target), None)
                    if target is None:
                        continue
                    if pod_ready(p):
                        backends.setdefault(sp["port"], []).append((ip, int(target)))
                    entry = {"port": int(target), "protocol": sp.get("protocol", "TCP")}
                    if sp.get("name"):
                        entry["name"] = sp["name"]
                    if entry not in ports:
                        ports.append(entry)
            subsets = []
            if ready or not_ready:
                subset: dict[str, Any] = {"ports": ports}
                if ready:
                    subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
                if not_ready:
                    subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
                subsets.append(subset)
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": meta["name"], "namespace": ns, "labels": meta.get("labels") or {}}}
            if subsets:
                body["subsets"] = subsets
            cur = existing.get((ns, meta["name"]))
            path = f"/api/v1/namespaces/{ns}/endpoints"
            if cur is None:
                self.client.post(path, body)
            elif cur.get("subsets") != body.get("subsets"):
                cur["subsets"] = body.get("subsets")
                if cur["subsets"] is None:
                    del cur["subsets"]
                self.client.put(f"{path}/{meta['name']}", cur)
            ip = spec.get("clusterIP")
            if ip and ip != "None" and ip.startswith("127."):
                for sp in spec.get("ports") or []:
                    wanted_proxies[(ip, int(sp["port"]))] = backends.get(sp["port"], [])
        for key in list(self.proxies):
            if key not in wanted_proxies:
                self.proxies.pop(key).stop()
        for key, backends in wanted_proxies.items():
            if key not in self.proxies:
                try:
                    proxy = _ServicePort(*key)
                except OSError:
                    continue
                proxy.start()
                self.proxies[key] = proxy
            self.proxies[key].backends = backends


class FakeCluster:
    """A FakeKubeServer's cluster: named nodes (kubelet doubles running pods in their own mount + UTS namespaces),
    the scheduler, workload controllers, endpoints, a claim binder and a kube-proxy double.

    nodes: ``[{"name": "node-a", "labels": {...}, "taints": [...]}, ...]`` (default: two plain nodes).
    The server should be made with ``graceful_pod_deletion=True`` (SIGTERM + grace period on pod deletion); the
    cluster sets the server's Service IP range to 127.1.x.y so that the proxy can listen on cluster IPs.
    """

    def __init__(self, server, nodes: list[dict] | None = None, *, period: float = 0.2,
                 volume_refresh_delay: float = 1.0, command_rewrite=None, kill_grace: float = 30.0,
                 base_env: dict[str, str] | None = None, workdir: str | os.PathLike | None = None, **kubelet_kw):
        import tempfile
        from pathlib import Path
        self.server = server
        self._own_workdir = workdir is None
        # shared by the nodes: pods/ per pod, volumes/ one dir per claim (network storage every node can attach)
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="fakecluster-"))
        # Addresses of this process' own: several test runs on one machine (a CI run beside a developer's) each
        # listen on their pods' and Services' loopback addresses with the same ports. Services 127.1-50.x.y, pods
        # 127.51-98.z.w (tests/kube's kubelets use 127.100-249).
        pid = os.getpid()
        server.store.service_ip_prefix = f"127.{1 + pid % 50}"
        kubelet_kw.setdefault("ip_prefix", f"127.{51 + pid % 48}.{1 + (pid // 48) % 250}")
        self.node_specs = nodes or [{"name": "node-a"}, {"name": "node-b"}]
        creds = server.client_credentials()
        self.token = creds["token"] or "fakekube-serviceaccount-token"
        self.kubelets: list[FakeKubelet] = []
        for i, n in enumerate(self.node_specs):
            self.kubelets.append(FakeKubelet(
                server, node_name=n["name"], labels=n.get("labels"), taints=n.get("taints"), schedule=False,
                isolate=True, volume_refresh_delay=volume_refresh_delay, command_rewrite=command_rewrite,
                kill_grace=kill_grace, base_env=base_env, service_account_token=self.token,
                ca_file=creds["ca_file"], api_host=server.host, api_port=None, workdir=self.workdir, **kubelet_kw))
        self.client = KubeClient(creds["server"], ca_file=creds["ca_file"], cert_file=creds["cert_file"],
                                 key_file=creds["key_file"], token=creds["token"],
                                 user_agent="fakekube-controller-manager")
        self.manager = ControllerManager(self.client, period=period)

    def start(self) -> "FakeCluster":
        for kl in self.kubelets:
            kl.api_port = self.server.port
            kl.start()
        self.manager.start()
        return self

    def stop(self) -> None:
        self.manager.stop()
        for kl in self.kubelets:
            kl.stop()
        self.client.close()
        if self._own_workdir:
            import shutil
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "FakeCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def kubelet_of(self, namespace: str, name: str) -> FakeKubelet | None:
        for kl in self.kubelets:
            if kl._worker(namespace, name) is not None:
                return kl
        return None

    def pods(self) -> list[dict]:
        return [dict(p, node=kl.node_name) for kl in self.kubelets for p in kl.pods()]

    def service_ip(self, namespace: str, name: str) -> str:
        return self.client.get(f"/api/v1/namespaces/{namespace}/services/{name}")["spec"]["clusterIP"]
