"""The kubelet double: runs pods as local processes, each on its own loopback address, through the API only.

It lists and watches pods, binds unassigned ones to its node (the ``binding`` subresource, as the scheduler
does), materialises mounted Secrets / ConfigMaps into a per-pod directory, rewrites the mount paths in the first
container's command, args and env to that directory, starts the command in its own process group and reports
``status`` (phase, podIP, container statuses, conditions) with PUT ``/status``. Everything it does goes through
the HTTP API of the server it is given, so it behaves the same in the server's process or in another one.

Simulations (annotation ``fake.kubelet/simulate`` on the pod, or an image name pattern):
``ErrImagePull`` / ``ImagePullBackOff``, ``InvalidImageName``, ``Unschedulable``, ``TriggeredScaleUp``,
``CrashLoopBackOff``, ``OOMKilled``, ``NeverReady``. See README.md.
"""

from __future__ import annotations

import base64
import math
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .client import KubeClient, KubeClientError
from .images import Image, start_script

SIMULATE_ANNOTATION = "fake.kubelet/simulate"
SIMULATIONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "Unschedulable", "TriggeredScaleUp",
               "CrashLoopBackOff", "OOMKilled", "NeverReady")

DEFAULT_IMAGE_SIMULATIONS: list[tuple[str, str]] = [
    (r"does-not-exist|doesnotexist|nonexistent", "ErrImagePull"),
    (r"[A-Z]|\s|^:|::|@(?!sha256:)", "InvalidImageName"),
]

UNSCHEDULABLE_GPU_MESSAGE = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
_PYTHON_RE = re.compile(r"^python(3(\.\d+)?)?$")
_WILDCARD_RE = re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d./])")
_SYSTEM_PREFIXES = ("/usr/", "/bin/", "/sbin/", "/opt/", "/lib/")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Stop(Exception):
    """The pod worker must end (pod deleted or kubelet stopping)."""


class _IPAllocator:
    """127.0.0.X addresses, X from ``start`` upward, lowest free first; shared by all kubelets in a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used: set[str] = set()

    def allocate(self, prefix: str, start: int) -> str:
        with self._lock:
            for x in range(start, 255):
                ip = f"{prefix}.{x}"
                if ip not in self._used:
                    self._used.add(ip)
                    return ip
        raise RuntimeError(f"no free loopback address in {prefix}.{start}-254")

    def release(self, ip: str | None) -> None:
        if ip:
            with self._lock:
                self._used.discard(ip)


IP_ALLOCATOR = _IPAllocator()


class _MountPoints:
    """Mount points the kubelet had to create on the host (e.g. ``/home/jovyan/work``) for bind mounts inside pod
    mount namespaces; reference-counted across pods, removed (if empty) when the last pod using one goes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: dict[str, int] = {}
        self._created: dict[str, list[str]] = {}

    def acquire(self, path: str, is_dir: bool) -> None:
        with self._lock:
            if path not in self._refs:
                created: list[str] = []
                p = Path(path)
                missing = [a for a in [p, *p.parents] if not os.path.lexists(a)]
                for a in reversed(missing):
                    if a == p and not is_dir:
                        a.touch()
                    else:
                        a.mkdir()
                    created.append(str(a))
                self._created[path] = created
                self._refs[path] = 0
            self._refs[path] += 1

    def release(self, path: str) -> None:
        with self._lock:
            if path not in self._refs:
                return
            self._refs[path] -= 1
            if self._refs[path] > 0:
                return
            del self._refs[path]
            for a in reversed(self._created.pop(path, [])):
                if any(r == a or r.startswith(a + "/") for r in self._refs):
                    break
                try:
                    os.rmdir(a) if os.path.isdir(a) and not os.path.islink(a) else os.unlink(a)
                except OSError:
                    break


MOUNT_POINTS = _MountPoints()


class _Attachments:
    """Which node each PersistentVolumeClaim's volume is attached to (the attach/detach controller's view)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_claim: dict[tuple[str, str], dict[str, dict[str, str]]] = {}

    def attach(self, ns: str, claim: str, node: str, pod_uid: str, pod_name: str, exclusive: bool) -> list[str]:
        """Attach to ``node`` for the pod; with ``exclusive`` (ReadWriteOnce) fails while attached elsewhere: returns
        the names of the pods using it on other nodes (empty on success)."""
        with self._lock:
            nodes = self._by_claim.setdefault((ns, claim), {})
            others = sorted(name for n, pods in nodes.items() if n != node for name in pods.values())
            if exclusive and others:
                return others
            nodes.setdefault(node, {})[pod_uid] = pod_name
            return []

    def detach(self, ns: str, claim: str, node: str, pod_uid: str) -> None:
        with self._lock:
            nodes = self._by_claim.get((ns, claim)) or {}
            pods = nodes.get(node) or {}
            pods.pop(pod_uid, None)
            if not pods:
                nodes.pop(node, None)
            if not nodes:
                self._by_claim.pop((ns, claim), None)


ATTACHMENTS = _Attachments()


def _quantity(value: Any) -> float:
    """Kubernetes quantity -> float (cpu in cores, memory in bytes)."""
    s = str(value).strip()
    suffixes = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
                "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    for suf in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suf):
            return float(s[: -len(suf)]) * suffixes[suf]
    return float(s)


class PodWorker(threading.Thread):
    def __init__(self, kubelet: "FakeKubelet", pod: dict):
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.kl = kubelet
        self.pod = pod
        self.uid = meta["uid"]
        self.ns = meta["namespace"]
        self.name = meta["name"]
        self.inbox: "queue.Queue[tuple[str, Any]]" = queue.Queue()
        self.deleted = False
        self.terminating = False
        self.ip: str | None = None
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None
        self.log_path: Path | None = None
        self.phase = "Pending"
        self.pod_reason: str | None = None
        self.pod_message: str | None = None
        self.scheduled = bool((pod.get("spec") or {}).get("nodeName"))
        self.cstate: dict = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state: dict = {}
        self.ready = False
        self.started = False
        self.restart_count = 0
        self.container_id = ""
        self.start_time: str | None = None
        self.oom_pending = False
        self.kill_reason: str | None = None
        self.argv: list[str] = []
        self.env: dict[str, str] = {}
        self.cwd: str | None = None
        self.unsched_condition: dict | None = None
        self.events_sent: dict[tuple[str, str], tuple[str, int]] = {}
        self.readiness_successes = 0
        self.readiness_failures = 0
        self.next_probe = 0.0
        self.cond_times: dict[str, tuple[str, str]] = {}
        self.mounts: list[tuple[str, str]] = []
        self.bind_mounts: list[tuple[str, str, bool]] = []  # (host source, mount path, read only)
        self.mount_points: list[str] = []
        self.attached: list[str] = []
        self.volume_sources: dict[str, str] = {}  # volume name -> content digest of what is on disk
        self.next_volume_sync = 0.0
        self.hosts_path: Path | None = None
        self.hosts_text = ""
        self.uid_gid: tuple[int | None, int | None, list[int]] = (None, None, [])
        self.image: Image | None = None  # the container's image, when the kubelet has it (images.py)

    # ------------------------------------------------------------------------------------------------------
    # inbox
    # ------------------------------------------------------------------------------------------------------

    def notify(self, kind: str, payload: Any = None) -> None:
        self.inbox.put((kind, payload))

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "update":
            self.pod = payload
            if payload["metadata"].get("deletionTimestamp") and not self.terminating:
                self.terminating = True
        elif kind == "deleted":
            self.deleted = True
            raise _Stop()
        elif kind == "stop":
            raise _Stop()
        elif kind == "kill":
            self._signal_group(payload)
        elif kind == "oom":
            self.oom_pending = True
            self._signal_group(signal.SIGKILL)

    def _pump(self, timeout: float) -> None:
        """Wait up to ``timeout`` for one message and handle everything queued."""
        try:
            kind, payload = self.inbox.get(timeout=max(timeout, 0))
        except queue.Empty:
            return
        self._handle(kind, payload)
        while True:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                return
            self._handle(kind, payload)

    def _sleep(self, seconds: float) -> None:
        """Sleep while handling messages; raises _Stop when the pod goes (or starts terminating)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.terminating:
                raise _Stop()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._pump(min(remaining, 0.1))

    # ------------------------------------------------------------------------------------------------------
    # API helpers
    # ------------------------------------------------------------------------------------------------------

    @property
    def container(self) -> dict:
        return self.pod["spec"]["containers"][0]

    @property
    def pod_path(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/pods/{self.name}"

    def annotation(self, key: str, default: str | None = None) -> str | None:
        return ((self.pod["metadata"].get("annotations") or {}).get(key)) or default

    def simulation(self) -> str | None:
        sim = self.annotation(SIMULATE_ANNOTATION)
        if sim:
            return sim
        image = self.container.get("image") or ""
        for pattern, name in self.kl.image_simulations:
            if re.search(pattern, image):
                return name
        return None

    def event(self, etype: str, reason: str, message: str, component: str = "kubelet",
              field_path: str | None = None) -> None:
        self.kl.record_event(self, etype, reason, message, component, field_path)

    def _build_status(self) -> dict:
        c = self.container
        spec = self.pod["spec"]
        terminal = self.phase in ("Succeeded", "Failed")
        cstatus = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": self.ready,
                   "restartCount": self.restart_count, "started": self.started, "state": self.cstate,
                   "lastState": self.last_state}
        if self.container_id:
            cstatus["containerID"] = self.container_id
        if self.started or self.container_id:
            cstatus["imageID"] = f"docker.io/library/{(c.get('image') or 'unknown').split(':')[0]}@sha256:" + \
                                 "0" * 64
        statuses = [cstatus]
        for other in spec["containers"][1:]:
            running = self.phase == "Running" and not terminal
            statuses.append({"name": other["name"], "image": other.get("image", ""), "imageID": "",
                             "ready": running, "restartCount": 0, "started": running,
                             "state": {"running": {"startedAt": self.start_time}} if running else
                             {"waiting": {"reason": "PodInitializing"}}, "lastState": {}})
        all_ready = self.ready and not terminal
        ts = _now()
        conds = []
        if self.scheduled:
            conds.append({"type": "PodReadyToStartContainers", "status": "True" if self.ip else "False",
                          "lastProbeTime": None, "lastTransitionTime": ts})
            conds.append({"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": ts})
            ready_reason = None if all_ready else ("PodCompleted" if terminal else "ContainersNotReady")
            for t in ("Ready", "ContainersReady"):
                cond = {"type": t, "status": "True" if all_ready else "False", "lastProbeTime": None,
                        "lastTransitionTime": ts}
                if ready_reason:
                    cond["reason"] = ready_reason
                    if ready_reason == "ContainersNotReady":
                        cond["message"] = f"containers with unready status: [{c['name']}]"
                conds.append(cond)
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": ts})
        elif self.unsched_condition is not None:
            conds.append(self.unsched_condition)
        for cond in conds:  # a condition's lastTransitionTime changes only when its status does
            prev = self.cond_times.get(cond["type"])
            if prev is not None and prev[0] == cond["status"]:
                cond["lastTransitionTime"] = prev[1]
            else:
                self.cond_times[cond["type"]] = (cond["status"], cond["lastTransitionTime"])
        status: dict[str, Any] = {"phase": self.phase, "conditions": conds}
        if self.scheduled:
            status["hostIP"] = "127.0.0.1"
            status["hostIPs"] = [{"ip": "127.0.0.1"}]
            status["containerStatuses"] = statuses
            if spec.get("initContainers"):
                status["initContainerStatuses"] = [
                    {"name": ic["name"], "image": ic.get("image", ""), "imageID": "", "ready": True,
                     "restartCount": 0, "started": False, "lastState": {},
                     "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": self.start_time,
                                              "finishedAt": self.start_time}}} for ic in spec["initContainers"]]
        if self.ip:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        if self.start_time:
            status["startTime"] = self.start_time
        if self.pod_reason:
            status["reason"] = self.pod_reason
        if self.pod_message:
            status["message"] = self.pod_message
        status["qosClass"] = (self.pod.get("status") or {}).get("qosClass", "BestEffort")
        return status

    def write_status(self) -> None:
        status = self._build_status()
        for _ in range(10):
            try:
                current = self.kl.client.get(self.pod_path)
            except KubeClientError as e:
                if e.status == 404:
                    self.deleted = True
                    raise _Stop()
                raise
            if current["metadata"]["uid"] != self.uid:
                self.deleted = True
                raise _Stop()
            if current.get("status") == status:
                return
            current["status"] = status
            try:
                self.pod = self.kl.client.put(self.pod_path + "/status", current)
                return
            except KubeClientError as e:
                if e.status == 409:
                    continue
                if e.status == 404:
                    self.deleted = True
                    raise _Stop()
                raise

    # ------------------------------------------------------------------------------------------------------
    # main flow
    # ------------------------------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except _Stop:
            pass
        except Exception:  # pragma: no cover - keep the kubelet alive, make the bug visible
            traceback.print_exc()
        finally:
            try:
                self._teardown()
            except Exception:  # pragma: no cover
                traceback.print_exc()
            self.kl._worker_done(self)

    def _run(self) -> None:
        self._schedule()
        self.ip = "127.0.0.1" if self.pod["spec"].get("hostNetwork") else IP_ALLOCATOR.allocate(
            self.kl.ip_prefix, self.kl.ip_start)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.ns}_{self.name}_", dir=self.kl.pods_dir))
        self.log_path = self.dir / "logs" / f"{self.container['name']}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.start_time = _now()
        self.write_status()
        sim = self.simulation()
        self._pull_image(sim)
        while True:
            self._prepare_container()
            self._start_process(sim)
            code = self._monitor(sim)
            if self._after_exit(code, sim):
                break
        # terminal: keep the pod around until it is deleted
        while True:
            self._sleep(3600)

    # --------------------------------------------------------------- scheduling

    def _requests_too_much(self) -> str | None:
        for c in self.pod["spec"].get("containers") or []:
            res = c.get("resources") or {}
            for src in (res.get("limits") or {}, res.get("requests") or {}):
                for rname, qty in src.items():
                    if "/" in rname and rname.endswith("gpu"):
                        have = _quantity(self.kl.capacity.get(rname, "0"))
                        if _quantity(qty) > have:
                            return f"0/1 nodes are available: 1 Insufficient {rname}."
        return None

    def _schedule(self) -> None:
        if self.scheduled:
            return
        while True:
            sim = self.simulation()
            too_much = self._requests_too_much()
            if sim in ("Unschedulable", "TriggeredScaleUp") or too_much:
                message = too_much or UNSCHEDULABLE_GPU_MESSAGE
                if self.unsched_condition is None:
                    self.unsched_condition = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                              "lastTransitionTime": _now(), "reason": "Unschedulable",
                                              "message": message}
                    self.write_status()
                    self.event("Warning", "FailedScheduling", message, component="default-scheduler")
                    if sim == "TriggeredScaleUp":
                        self.event("Normal", "TriggeredScaleUp",
                                   f"pod triggered scale-up: [{{{self.kl.node_name}-group 0->1 (max: 10)}}]",
                                   component="cluster-autoscaler")
                if sim == "TriggeredScaleUp" and not too_much:
                    self._sleep(float(self.annotation("fake.kubelet/scale-up-seconds") or self.kl.scale_up_seconds))
                    break
                self._sleep(0.5)  # stay Pending; re-evaluated when the pod changes
                continue
            break
        try:
            self.kl.client.post(self.pod_path + "/binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": self.name, "namespace": self.ns},
                "target": {"apiVersion": "v1", "kind": "Node", "name": self.kl.node_name}})
        except KubeClientError as e:
            if e.status == 404:
                self.deleted = True
                raise _Stop()
            if e.status != 409:
                raise
        self.scheduled = True
        self.unsched_condition = None
        self.pod = self.kl.client.get(self.pod_path)
        self.event("Normal", "Scheduled", f"Successfully assigned {self.ns}/{self.name} to {self.kl.node_name}",
                   component="default-scheduler")

    # --------------------------------------------------------------- image

    def _pull_image(self, sim: str | None) -> None:
        image = self.container.get("image") or ""
        fp = f"spec.containers{{{self.container['name']}}}"
        if sim == "InvalidImageName":
            msg = f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": invalid ' \
                  f'reference format'
            self.cstate = {"waiting": {"reason": "InvalidImageName", "message": msg}}
            self.write_status()
            self.event("Warning", "InspectFailed", msg, field_path=fp)
            self.event("Warning", "Failed", "Error: InvalidImageName", field_path=fp)
            while True:
                self._sleep(3600)
        if sim in ("ErrImagePull", "ImagePullBackOff"):
            ref = image if "/" in image else f"docker.io/library/{image}"
            if ":" not in ref.rsplit("/", 1)[-1]:
                ref += ":latest"
            err = (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to resolve '
                   f'reference "{ref}": {ref}: not found')
            backoff = self.kl.backoff_base
            while True:
                self.event("Normal", "Pulling", f'Pulling image "{image}"', field_path=fp)
                self.cstate = {"waiting": {"reason": "ErrImagePull", "message": err}}
                self.write_status()
                self.event("Warning", "Failed", f'Failed to pull image "{image}": {err}', field_path=fp)
                self.event("Warning", "Failed", "Error: ErrImagePull", field_path=fp)
                self._sleep(self.kl.backoff_base)
                self.cstate = {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}}
                self.write_status()
                self.event("Normal", "BackOff", f'Back-off pulling image "{image}"', field_path=fp)
                self.event("Warning", "Failed", "Error: ImagePullBackOff", field_path=fp)
                self._sleep(backoff)
                backoff = min(backoff * 2, self.kl.backoff_max)
        pull_seconds = float(self.annotation("fake.kubelet/pull-seconds") or self.kl.pull_seconds)
        if self.container.get("imagePullPolicy") == "Always" or pull_seconds > 0:
            self.event("Normal", "Pulling", f'Pulling image "{image}"', field_path=fp)
            t0 = time.monotonic()
            self._sleep(pull_seconds)
            ms = int((time.monotonic() - t0) * 1000)
            self.event("Normal", "Pulled", f'Successfully pulled image "{image}" in {ms}ms ({ms}ms including '
                                           f'waiting). Image size: 0 bytes.', field_path=fp)
        else:
            self.event("Normal", "Pulled", f'Container image "{image}" already present on machine', field_path=fp)

    # --------------------------------------------------------------- volumes, env, command

    def _lookup(self, kind: str, name: str) -> dict | None:
        try:
            return self.kl.client.get(f"/api/v1/namespaces/{self.ns}/{kind}/{name}")
        except KubeClientError as e:
            if e.status == 404:
                return None
            raise

    @staticmethod
    def _source_items(obj: dict, kind: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        if kind == "secrets":
            for k, v in (obj.get("data") or {}).items():
                out[k] = base64.b64decode(v)
        else:
            for k, v in (obj.get("data") or {}).items():
                out[k] = str(v).encode()
            for k, v in (obj.get("binaryData") or {}).items():
                out[k] = base64.b64decode(v)
        return out

    def _field_ref(self, path: str) -> str:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
        if m:
            return (meta.get(m.group(1)) or {}).get(m.group(2), "")
        table = {"metadata.name": self.name, "metadata.namespace": self.ns, "metadata.uid": self.uid,
                 "spec.nodeName": self.kl.node_name, "spec.serviceAccountName": spec.get("serviceAccountName", ""),
                 "status.hostIP": "127.0.0.1", "status.hostIPs": "127.0.0.1", "status.podIP": self.ip or "",
                 "status.podIPs": self.ip or ""}
        if path == "metadata.labels":
            return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("labels") or {}).items()))
        if path == "metadata.annotations":
            return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("annotations") or {}).items()))
        return table.get(path, "")

    def _resource_ref(self, ref: dict) -> str:
        res = self.container.get("resources") or {}
        what = ref.get("resource", "")
        kind, _, rname = what.partition(".")
        value = (res.get(kind) or {}).get(rname)
        if value is None and kind == "requests":
            value = (res.get("limits") or {}).get(rname)
        if value is None:
            value = self.kl.capacity.get(rname, "0")
        divisor = _quantity(ref.get("divisor") or "1")
        return str(int(math.ceil(_quantity(value) / divisor)))

    def _pod_network(self, data: bytes) -> bytes:
        """0.0.0.0 inside a pod means the pod's own interfaces: here, its loopback address."""
        if not self.kl.wildcard_to_pod_ip or not self.ip or b"0.0.0.0" not in data:
            return data
        try:
            return _WILDCARD_RE.sub(self.ip, data.decode()).encode()
        except UnicodeDecodeError:
            return data

    def _collect_items(self, files: dict[str, tuple[bytes, int]], items: dict[str, bytes], selection: list | None,
                       mode: int) -> None:
        items = {k: self._pod_network(v) for k, v in items.items()}
        if selection:
            for it in selection:
                if it["key"] not in items:
                    raise _MountError(f'configmap/secret key "{it["key"]}" not found')
                files[it.get("path", it["key"])] = (items[it["key"]], it.get("mode", mode))
        else:
            for k, v in items.items():
                files[k] = (v, mode)

    @staticmethod
    def _atomic_write(target: Path, files: dict[str, tuple[bytes, int]], group: int | None = None) -> bool:
        """The kubelet's AtomicWriter: the files go into a new hidden ``..<timestamp>`` dir, the ``..data`` symlink
        is swapped to it with one rename, and each visible top-level name is a symlink through ``..data``. Returns
        whether anything changed."""
        target.mkdir(parents=True, exist_ok=True)
        data = target / "..data"
        if data.is_symlink():
            current = target / os.readlink(data)
            same = True
            have = {str(p.relative_to(current)) for p in current.rglob("*") if p.is_file()}
            if have != set(files):
                same = False
            else:
                for rel, (content, mode) in files.items():
                    p = current / rel
                    if p.read_bytes() != content or (p.stat().st_mode & 0o777) != (mode & 0o777):
                        same = False
                        break
            if same:
                return False
        stamp = "..%s" % datetime.now(timezone.utc).strftime("%Y_%m_%d_%H_%M_%S.%f")
        new = target / stamp
        new.mkdir()
        os.chmod(new, 0o755)
        for rel, (content, mode) in files.items():
            p = new / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
            os.chmod(p, mode & 0o777)
            if group is not None:
                os.chown(p, -1, group)
        old = os.readlink(data) if data.is_symlink() else None
        tmp = target / "..data_tmp"
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(stamp, tmp)
        os.replace(tmp, data)  # the atomic swap
        tops = {rel.split("/", 1)[0] for rel in files}
        for top in tops:
            link = target / top
            if not link.is_symlink():
                os.symlink(f"..data/{top}", link)
        for entry in os.listdir(target):
            if not entry.startswith("..") and entry not in tops:
                link = target / entry
                if link.is_symlink():
                    link.unlink()
        if old and old != stamp:
            shutil.rmtree(target / old, ignore_errors=True)
        return True

    def _claim_volume(self, vol: dict) -> Path:
        claim = vol["persistentVolumeClaim"]["claimName"]
        if not self.kl.isolate:
            p = self.kl.workdir / "pvc" / self.ns / claim
            p.mkdir(parents=True, exist_ok=True)
            return p
        pvc = self._lookup("persistentvolumeclaims", claim)
        if pvc is None:
            raise _MountError(f'persistentvolumeclaim "{claim}" not found')
        if (pvc.get("status") or {}).get("phase") != "Bound":
            raise _MountError(f'persistentvolumeclaim "{claim}" is not bound')
        volume = (pvc.get("spec") or {}).get("volumeName") or f"pvc-{pvc['metadata']['uid']}"
        modes = (pvc.get("spec") or {}).get("accessModes") or []
        if claim not in self.attached:
            exclusive = "ReadWriteOnce" in modes or "ReadWriteOncePod" in modes
            others = ATTACHMENTS.attach(self.ns, claim, self.kl.node_name, self.uid, self.name,
                                        exclusive and "ReadWriteMany" not in modes)
            if others:
                raise _AttachError(f'Multi-Attach error for volume "{volume}" Volume is already used by pod(s) '
                                   f'{", ".join(others)}')
            self.attached.append(claim)
        p = self.kl.volumes_dir / volume
        if not p.exists():
            p.mkdir(parents=True)
            os.chmod(p, 0o777 if self.uid_gid[0] not in (None, 0) else 0o755)
        fs_group = ((self.pod["spec"].get("securityContext") or {}).get("fsGroup"))
        if fs_group is not None:
            os.chown(p, -1, int(fs_group))
            os.chmod(p, 0o2775)
        return p

    def _materialise_volume(self, vol: dict) -> Path:
        name = vol["name"]
        target = self.dir / "volumes" / name
        if "hostPath" in vol:
            return Path(vol["hostPath"]["path"])
        if "persistentVolumeClaim" in vol:
            return self._claim_volume(vol)
        if "emptyDir" in vol:
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, 0o777)
            return target
        files: dict[str, tuple[bytes, int]] = {}
        sources = []
        if "secret" in vol:
            s = vol["secret"]
            sources.append(("secrets", s.get("secretName"), s.get("items"), s.get("optional"),
                            s.get("defaultMode", 420)))
        elif "configMap" in vol:
            s = vol["configMap"]
            sources.append(("configmaps", s.get("name"), s.get("items"), s.get("optional"), s.get("defaultMode", 420)))
        elif "projected" in vol:
            mode = vol["projected"].get("defaultMode", 420)
            for src in vol["projected"].get("sources") or []:
                if "secret" in src:
                    s = src["secret"]
                    sources.append(("secrets", s.get("name"), s.get("items"), s.get("optional"), mode))
                elif "configMap" in src:
                    s = src["configMap"]
                    sources.append(("configmaps", s.get("name"), s.get("items"), s.get("optional"), mode))
                elif "downwardAPI" in src:
                    self._collect_downward(files, src["downwardAPI"].get("items") or [], mode)
                elif "serviceAccountToken" in src:
                    files[src["serviceAccountToken"].get("path", "token")] = (
                        (self.kl.service_account_token or "fakekube-serviceaccount-token").encode(), mode)
        elif "downwardAPI" in vol:
            self._collect_downward(files, vol["downwardAPI"].get("items") or [],
                                   vol["downwardAPI"].get("defaultMode", 420))
        for kind, oname, items, optional, mode in sources:
            obj = self._lookup(kind, oname)
            if obj is None:
                if optional:
                    continue
                raise _MountError(f'MountVolume.SetUp failed for volume "{name}" : {kind[:-1]} "{oname}" not found')
            self._collect_items(files, self._source_items(obj, kind), items, mode)
        fs_group = (self.pod["spec"].get("securityContext") or {}).get("fsGroup")
        self._atomic_write(target, files, int(fs_group) if fs_group is not None else None)
        return target

    def _collect_downward(self, files: dict[str, tuple[bytes, int]], items: list, mode: int) -> None:
        for it in items:
            value = self._field_ref(it["fieldRef"]["fieldPath"]) if "fieldRef" in it else \
                self._resource_ref(it.get("resourceFieldRef") or {})
            files[it["path"]] = (value.encode(), it.get("mode", mode))

    def _refresh_volumes(self) -> None:
        """Periodic sync (kubelet ``syncFrequency``): Secret, ConfigMap, projected and downward API volumes get
        the objects' current content through the atomic ``..data`` swap. subPath mounts are not updated."""
        for vol in self.pod["spec"].get("volumes") or []:
            if not any(k in vol for k in ("secret", "configMap", "projected", "downwardAPI")):
                continue
            if not (self.dir / "volumes" / vol["name"]).exists():
                continue
            try:
                self._materialise_volume(vol)
            except (_MountError, KubeClientError, OSError):
                pass  # a deleted source keeps the last content, as on a real node

    def _rewrite(self, text: str, mounts: list[tuple[str, str]]) -> str:
        for mount_path, local in mounts:
            pattern = r"(?<![\w.\-/])" + re.escape(mount_path.rstrip("/")) + r"(?![\w.\-])"
            text = re.sub(pattern, lambda _m: local, text)
        return text

    @staticmethod
    def _expand(text: str, env: dict[str, str]) -> str:
        """Kubernetes $(VAR) expansion; $$(VAR) is an escaped literal $(VAR)."""
        return re.sub(r"\$\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                      lambda m: m.group(0)[1:] if m.group(0).startswith("$$") else env.get(m.group(2), m.group(0)),
                      text)

    def _prepare_container(self) -> None:
        """Volumes, env, argv and cwd for the first container; retried while a Secret/ConfigMap is missing."""
        fp = f"spec.containers{{{self.container['name']}}}"
        backoff = 0.2
        while True:
            try:
                self._prepare_once()
                return
            except _AttachError as e:
                self.event("Warning", "FailedAttachVolume", str(e), component="attachdetach-controller")
            except _MountError as e:
                self.event("Warning", "FailedMount", str(e))
            except _ConfigError as e:
                self.cstate = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
                self.write_status()
                self.event("Warning", "Failed", f"Error: {e}", field_path=fp)
            self._sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _prepare_once(self) -> None:
        c = self.container
        mounts: list[tuple[str, str]] = []
        binds: list[tuple[str, str, bool]] = []
        self.image = self.kl.images.get(c.get("image") or "") if self.kl.isolate else None
        self.uid_gid = self._security_context()
        vols = {v["name"]: v for v in self.pod["spec"].get("volumes") or []}
        materialised: dict[str, Path] = {}
        for vm in c.get("volumeMounts") or []:
            vol = vols.get(vm["name"])
            if vol is None:
                raise _MountError(f'volume "{vm["name"]}" not found in pod spec')
            if vm["name"] not in materialised:
                materialised[vm["name"]] = self._materialise_volume(vol)
            local = materialised[vm["name"]]
            if vm.get("subPath"):
                local = local / vm["subPath"]
            mounts.append((vm["mountPath"], str(local)))
            binds.append((str(local), vm["mountPath"], bool(vm.get("readOnly"))))
        mounts.sort(key=lambda m: len(m[0]), reverse=True)
        env: dict[str, str] = {}
        image = self.image
        if image is not None:  # the image's environment, not the host's
            env.update(image.env)
            home = Path(env.get("HOME") or image.home(self.uid_gid[0] or 0))
            binds = self._isolation_mounts(binds, in_image=True)
        else:
            for k in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR"):
                if k in os.environ:
                    env[k] = os.environ[k]
            home = self.dir / "home"
            home.mkdir(exist_ok=True)
            if self.kl.isolate:
                binds = self._isolation_mounts(binds)
                if self.uid_gid[0] not in (None, 0):
                    home = Path("/")
        env.update({"HOME": str(home), "HOSTNAME": self.name, "FAKE_POD_IP": self.ip or "", "POD_IP": self.ip or "",
                    "FAKE_POD_NAME": self.name, "FAKE_POD_NAMESPACE": self.ns, "FAKE_POD_DIR": str(self.dir)})
        if self.kl.isolate and self.kl.api_host:
            env.update({"KUBERNETES_SERVICE_HOST": self.kl.api_host, "KUBERNETES_SERVICE_PORT": str(self.kl.api_port),
                        "KUBERNETES_SERVICE_PORT_HTTPS": str(self.kl.api_port)})
        env.update(self.kl.base_env)
        for src in c.get("envFrom") or []:
            prefix = src.get("prefix", "")
            for kind, key in (("configmaps", "configMapRef"), ("secrets", "secretRef")):
                if key in src:
                    obj = self._lookup(kind, src[key]["name"])
                    if obj is None:
                        if src[key].get("optional"):
                            continue
                        raise _ConfigError(f'{kind[:-1]} "{src[key]["name"]}" not found')
                    for k, v in self._source_items(obj, kind).items():
                        env[prefix + k] = v.decode(errors="replace")
        for e in c.get("env") or []:
            if "valueFrom" in e:
                vf = e["valueFrom"]
                if "fieldRef" in vf:
                    env[e["name"]] = self._field_ref(vf["fieldRef"]["fieldPath"])
                elif "resourceFieldRef" in vf:
                    env[e["name"]] = self._resource_ref(vf["resourceFieldRef"])
                else:
                    kind, ref = ("secrets", vf["secretKeyRef"]) if "secretKeyRef" in vf else \
                        ("configmaps", vf.get("configMapKeyRef") or {})
                    obj = self._lookup(kind, ref.get("name", ""))
                    items = self._source_items(obj, kind) if obj is not None else None
                    if items is None or ref.get("key") not in items:
                        if ref.get("optional"):
                            continue
                        if items is None:
                            raise _ConfigError(f'{kind[:-1]} "{ref.get("name")}" not found')
                        raise _ConfigError(f"couldn't find key {ref.get('key')} in "
                                           f"{'Secret' if kind == 'secrets' else 'ConfigMap'} "
                                           f"{self.ns}/{ref.get('name')}")
                    env[e["name"]] = items[ref["key"]].decode(errors="replace")
            else:
                env[e["name"]] = self._expand(str(e.get("value", "")), env)
        rewrite_mounts = [] if self.kl.isolate else mounts  # isolated pods see their volumes at the mount paths
        for k in list(env):
            env[k] = self._pod_network(self._rewrite(env[k], rewrite_mounts).encode()).decode()
        words = list(c.get("command") or []) + list(c.get("args") or [])
        if image is not None:  # the image's entrypoint and cmd where the pod gives none; never rewritten
            words = image.argv([self._expand(str(a), env) for a in c.get("command") or []],
                               [self._expand(str(a), env) for a in c.get("args") or []])
        argv = [self._pod_network(self._rewrite(self._expand(str(a), env), rewrite_mounts).encode()).decode()
                for a in words]
        if image is None:
            argv = [self._pod_network(a.encode()).decode() for a in self.kl.rewrite_command(argv, self.pod, c)]
        wd = c.get("workingDir")
        if image is not None:
            self.argv, self.env, self.mounts, self.bind_mounts = argv, env, rewrite_mounts, binds
            self.cwd = wd or image.working_dir
            return
        if self.kl.isolate:
            self.argv, self.env, self.mounts, self.bind_mounts = argv, env, rewrite_mounts, binds
            if wd:
                if not os.path.isdir(wd):
                    self._acquire_mount_point(wd, True)
                self.cwd = wd
            else:
                self.cwd = "/" if self.uid_gid[0] not in (None, 0) else str(self.dir)
            return
        if wd:
            rw = self._rewrite(wd, mounts)
            if not os.path.isdir(rw):
                rw = str(self.dir / "rootfs" / wd.lstrip("/"))
                os.makedirs(rw, exist_ok=True)
            cwd = rw
        else:
            cwd = str(self.dir)
        self.argv, self.env, self.cwd, self.mounts = argv, env, cwd, mounts

    def _security_context(self) -> tuple[int | None, int | None, list[int]]:
        """runAsUser / runAsGroup (the container's win over the pod's), fsGroup + supplementalGroups; runAsNonRoot
        with a root user is CreateContainerConfigError, as the kubelet reports it."""
        psc = self.pod["spec"].get("securityContext") or {}
        csc = self.container.get("securityContext") or {}
        user = csc.get("runAsUser", psc.get("runAsUser"))
        group = csc.get("runAsGroup", psc.get("runAsGroup"))
        non_root = csc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        image = self.image
        if image is not None:
            # the image's USER where the pod names none; the uid's primary group where only the user is named
            try:
                image_user, image_group = image.user()
            except ValueError as e:
                raise _ConfigError(str(e)) from None
            if user is None:
                user, group = image_user, group if group is not None else image_group
            elif group is None:
                group = image.primary_gid(int(user))
            if non_root and not user:
                raise _ConfigError(f'container has runAsNonRoot and image will run as root (pod: '
                                   f'"{self.name}_{self.ns}({self.uid})", container: {self.container["name"]})')
        elif non_root and not user:
            raise _ConfigError(f'container has runAsNonRoot and image will run as root (pod: '
                               f'"{self.name}_{self.ns}({self.uid})", container: {self.container["name"]})')
        groups = [int(g) for g in psc.get("supplementalGroups") or []]
        if psc.get("fsGroup") is not None:
            groups.insert(0, int(psc["fsGroup"]))
        return (int(user) if user is not None else None, int(group) if group is not None else None, groups)

    def _acquire_mount_point(self, path: str, is_dir: bool) -> None:
        if path not in self.mount_points:
            MOUNT_POINTS.acquire(path, is_dir)
            self.mount_points.append(path)

    def _isolation_mounts(self, binds: list[tuple[str, str, bool]], in_image: bool = False) -> list[tuple[str, str, bool]]:
        """The pod's own /etc/hosts and service account files, then its volumes, as bind mounts. In an image, the
        mount points are made inside the container's root file system (images.py), not on the host."""
        out: list[tuple[str, str, bool]] = []
        self.hosts_path = self.dir / "etc-hosts"
        self.write_hosts(self.kl.hosts_entries)
        if not in_image:
            out.append((str(self.hosts_path), "/etc/hosts", False))
        spec = self.pod["spec"]
        if self.kl.service_account_token is not None and spec.get("automountServiceAccountToken", True) is not False \
                and not any(m == SERVICE_ACCOUNT_DIR for _, m, _ in binds):
            sa = self.dir / "volumes" / "kube-api-access"
            ca = Path(self.kl.ca_file).read_bytes() if self.kl.ca_file else b""
            self._atomic_write(sa, {"token": (self.kl.service_account_token.encode(), 0o644),
                                    "ca.crt": (ca, 0o644), "namespace": (self.ns.encode(), 0o644)})
            out.append((str(sa), SERVICE_ACCOUNT_DIR, True))
        out.extend(sorted(binds, key=lambda b: len(b[1])))
        if not in_image:
            for src, dst, _ in out:
                self._acquire_mount_point(dst, os.path.isdir(src))
        return out

    def write_hosts(self, entries: list[tuple[str, str, str]]) -> None:
        """A kubelet-managed /etc/hosts: localhost, the pod's own name, and every Service by its DNS names (this
        stands in for cluster DNS: ``name`` in the pod's namespace, ``name.ns``, ``name.ns.svc``,
        ``name.ns.svc.cluster.local``). Rewritten in place so the bind mount sees it."""
        if self.hosts_path is None:
            return
        lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"{self.ip}\t{self.name}"]
        for ip, name, ns in entries:
            names = [f"{name}.{ns}.svc.{CLUSTER_DOMAIN}", f"{name}.{ns}.svc", f"{name}.{ns}"]
            if ns == self.ns:
                names.append(name)
            lines.append(f"{ip}\t" + " ".join(names))
        text = "\n".join(lines) + "\n"
        if text == self.hosts_text:
            return
        with open(self.hosts_path, "w") as f:
            f.write(text)
        self.hosts_text = text

    def _isolated_argv(self, argv: list[str]) -> list[str]:
        """``unshare`` a mount and UTS namespace: hostname = pod name, bind mounts, then the UID/GID (setpriv).
        A pod whose image the kubelet has runs in that image instead (images.py)."""
        import shlex
        if self.image is not None:
            user, group, groups = self.uid_gid
            read_only = bool((self.container.get("securityContext") or {}).get("readOnlyRootFilesystem"))
            lines = start_script(self.image, self.dir, self.name, self.hosts_path, self.bind_mounts, self.cwd or "/",
                                 user, group, groups, read_only)
            script = self.dir / "start.sh"
            script.write_text("\n".join(lines) + "\n")
            return ["unshare", "--mount", "--uts", "--propagation", "private", "/bin/bash", str(script)] + argv
        lines = ["set -e", f"hostname {shlex.quote(self.name[:63])}"]
        # every source is opened first: a mount at e.g. /tmp would otherwise hide sources below it
        for i, (src, dst, ro) in enumerate(self.bind_mounts):
            lines.append(f"exec {10 + i}< {shlex.quote(src)}")
        user = self.uid_gid[0]
        shared = list(self.kl.shared_paths)
        for j, path in enumerate(shared):  # host paths a non-root pod user must reach (its "image" files)
            fd = 10 + len(self.bind_mounts) + j
            private = next((str(a) for a in reversed(Path(path).parents) if str(a) != "/" and
                            not os.stat(a).st_mode & 0o001), None) if user not in (None, 0) else None
            lines.append(f"exec {fd}< {shlex.quote(path)}")
            if private:
                staging = self.dir / f"shared-{j}"
                staging.mkdir(exist_ok=True)
                lines.append(f"mount --bind /proc/$$/fd/{fd} {shlex.quote(str(staging))}")
                lines.append(f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(private)}")
                lines.append(f"mkdir -p {shlex.quote(path)}")
                lines.append(f"mount --bind {shlex.quote(str(staging))} {shlex.quote(path)}")
        for i, (src, dst, ro) in enumerate(self.bind_mounts):
            lines.append(f"mount --bind /proc/$$/fd/{10 + i} {shlex.quote(dst)}")
            if ro:
                lines.append(f"mount -o remount,bind,ro {shlex.quote(dst)}")
        # a volume mounted over a parent of a shared path (an emptyDir at /tmp over a checkout in /tmp) would hide
        # the pod's "image" files: bind them back on top (the directories were opened before any mount)
        for j, path in enumerate(shared):
            if any(path == dst or path.startswith(dst.rstrip("/") + "/") for _, dst, _ in self.bind_mounts):
                fd = 10 + len(self.bind_mounts) + j
                lines.append(f"mkdir -p {shlex.quote(path)}")
                lines.append(f"mount --bind /proc/$$/fd/{fd} {shlex.quote(path)}")
        user, group, groups = self.uid_gid
        if user is not None or group is not None:
            priv = ["setpriv"]
            if user is not None:
                priv.append(f"--reuid={user}")
            priv.append(f"--regid={group if group is not None else 0}")
            priv.append("--groups=" + ",".join(map(str, groups)) if groups else "--clear-groups")
            lines.append(f"cd {shlex.quote(self.cwd or '/')}")
            lines.append("exec " + " ".join(priv) + ' -- "$@"')
        else:
            lines.append('exec "$@"')
        lines.insert(-1, " ".join(f"exec {10 + i}<&-;" for i in range(len(self.bind_mounts) + len(shared))) or ":")
        script = self.dir / "start.sh"
        script.write_text("\n".join(lines) + "\n")
        return ["unshare", "--mount", "--uts", "--propagation", "private", "/bin/bash", str(script)] + argv

    # --------------------------------------------------------------- process

    def _start_process(self, sim: str | None) -> None:
        c = self.container
        fp = f"spec.containers{{{c['name']}}}"
        argv = list(self.argv)
        if sim == "CrashLoopBackOff":
            argv = [self.kl.python, "-c", "import sys; print('fakekube: simulated crash', file=sys.stderr); "
                                          "sys.exit(1)"]
        self.container_id = "containerd://" + uuid.uuid4().hex + uuid.uuid4().hex
        if self.log_path.exists() and self.restart_count > 0:
            self.log_path.replace(self.log_path.with_suffix(".previous.log"))
        self.event("Normal", "Created", f"Created container: {c['name']}", field_path=fp)
        err = None
        if not argv:
            err = "no command specified"
        else:
            if self.kl.isolate:
                argv = self._isolated_argv(argv)
            try:
                with open(self.log_path, "ab") as logf:
                    self.proc = subprocess.Popen(argv, cwd=str(self.dir) if self.image is not None else self.cwd,
                                                 env=self.env, stdin=subprocess.DEVNULL,
                                                 stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
                self.pid = self.proc.pid
                self.kl._register_pid(self.pid)
            except OSError as e:
                err = (f'failed to create containerd task: failed to create shim task: OCI runtime create failed: '
                       f'runc create failed: unable to start container process: exec: "{argv[0]}": {e.strerror}: '
                       f'unknown')
        now = _now()
        if err is not None:
            self.proc = None
            self.cstate = {"terminated": {"exitCode": 128, "reason": "StartError", "message": err,
                                          "startedAt": "1970-01-01T00:00:00Z", "finishedAt": now,
                                          "containerID": self.container_id}}
            self.event("Warning", "Failed", f"Error: {err}", field_path=fp)
            return
        self.event("Normal", "Started", f"Started container {c['name']}", field_path=fp)
        self.cstate = {"running": {"startedAt": now}}
        self.started = True
        self.phase = "Running"
        probe = c.get("readinessProbe")
        self.ready = probe is None and sim != "NeverReady"
        self.readiness_successes = self.readiness_failures = 0
        if probe:
            self.next_probe = time.monotonic() + min(float(probe.get("initialDelaySeconds", 0)),
                                                     self.kl.max_probe_delay)
        self.write_status()
        if sim == "OOMKilled":
            delay = float(self.annotation("fake.kubelet/oom-after-seconds") or self.kl.oom_after_seconds)
            timer = threading.Timer(delay, lambda: self.notify("oom"))
            timer.daemon = True
            timer.start()

    def _signal_group(self, sig: int) -> None:
        if self.proc is None or self.proc.poll() is not None:
            if self.pid:
                try:
                    os.killpg(self.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _probe(self, probe: dict) -> bool:
        host = self.ip or "127.0.0.1"
        timeout = min(float(probe.get("timeoutSeconds", 1)), 2.0)
        port = None
        for kind in ("tcpSocket", "httpGet"):
            if kind in probe:
                port = probe[kind].get("port")
                host = probe[kind].get("host") or host
        if isinstance(port, str) and not port.isdigit():
            for p in self.container.get("ports") or []:
                if p.get("name") == port:
                    port = p.get("containerPort")
        try:
            if "tcpSocket" in probe:
                with socket.create_connection((host, int(port)), timeout=timeout):
                    return True
            if "httpGet" in probe:
                hg = probe["httpGet"]
                url = f"{hg.get('scheme', 'HTTP').lower()}://{host}:{int(port)}{hg.get('path', '/')}"
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return 200 <= r.status < 400
            if "exec" in probe:
                argv = [self._rewrite(a, self.mounts) for a in probe["exec"].get("command") or []]
                if self.image is None:
                    argv = self.kl.rewrite_command(argv, self.pod, self.container)
                if self.image is not None and self.pid:
                    argv = ["nsenter", "-t", str(self.pid), "-m", "-u", "-r", "-w", "--"] + argv
                elif self.kl.isolate and self.pid:
                    argv = ["nsenter", "-t", str(self.pid), "-m", "-u", "--"] + argv
                return subprocess.run(argv, env=self.env, cwd=str(self.dir) if self.image is not None else self.cwd,
                                      timeout=timeout + 3,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        except Exception:
            return False
        return False

    def _monitor(self, sim: str | None) -> int | None:
        """Wait for the process to exit (returns its exit status) or for the pod to go away (raises _Stop)."""
        if self.proc is None:
            return None
        probe = self.container.get("readinessProbe")
        while True:
            if self.terminating:
                raise _Stop()
            code = self.proc.poll()
            if code is not None:
                return code
            self._pump(0.05)
            if self.kl.volume_refresh_delay is not None and time.monotonic() >= self.next_volume_sync:
                if self.next_volume_sync:
                    self._refresh_volumes()
                self.next_volume_sync = time.monotonic() + self.kl.volume_refresh_delay
            if probe and sim != "NeverReady" and time.monotonic() >= self.next_probe:
                period = min(float(probe.get("periodSeconds", 10)), self.kl.max_probe_period)
                self.next_probe = time.monotonic() + period
                ok = self._probe(probe)
                if ok:
                    self.readiness_failures = 0
                    self.readiness_successes += 1
                    if not self.ready and self.readiness_successes >= int(probe.get("successThreshold", 1)):
                        self.ready = True
                        self.write_status()
                else:
                    self.readiness_successes = 0
                    self.readiness_failures += 1
                    if self.ready and self.readiness_failures >= int(probe.get("failureThreshold", 3)):
                        self.ready = False
                        self.write_status()

    def _after_exit(self, code: int | None, sim: str | None) -> bool:
        """Report the exit; returns True when the pod is now terminal, False to restart the container."""
        c = self.container
        fp = f"spec.containers{{{c['name']}}}"
        now = _now()
        if code is None:  # start error
            terminated = dict(self.cstate["terminated"])
            exit_code = 128
        else:
            self.kl._unregister_pid(self.pid)
            self._signal_group(signal.SIGKILL)  # stray children of the container
            exit_code = 128 - code if code < 0 else code
            if self.oom_pending:
                reason = "OOMKilled"
                exit_code = 137
            elif exit_code == 0:
                reason = "Completed"
            else:
                reason = "Error"
            terminated = {"exitCode": exit_code, "reason": reason,
                          "startedAt": (self.cstate.get("running") or {}).get("startedAt", now), "finishedAt": now,
                          "containerID": self.container_id}
        self.oom_pending = False
        self.proc = None
        self.ready = False
        policy = self.pod["spec"].get("restartPolicy", "Always")
        if sim == "CrashLoopBackOff":
            policy = "Always"
        restart = policy == "Always" or (policy == "OnFailure" and exit_code != 0)
        if not restart:
            self.cstate = {"terminated": terminated}
            self.phase = "Succeeded" if exit_code == 0 else "Failed"
            self.started = False
            self.write_status()
            return True
        self.restart_count += 1
        self.last_state = {"terminated": terminated}
        backoff = min(self.kl.backoff_base * 2 ** (self.restart_count - 1), self.kl.backoff_max)
        msg = (f"back-off {int(max(backoff, 1))}s restarting failed container={c['name']} "
               f"pod={self.name}_{self.ns}({self.uid})")
        self.cstate = {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
        self.started = False
        self.write_status()
        self.event("Warning", "BackOff", f"Back-off restarting failed container {c['name']} in pod "
                                         f"{self.name}_{self.ns}({self.uid})", field_path=fp)
        self._sleep(backoff)
        self.event("Normal", "Pulled", f'Container image "{c.get("image", "")}" already present on machine',
                   field_path=fp)
        return False

    # --------------------------------------------------------------- teardown

    def _kill_process(self, grace: float) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.pid:
            self._signal_group(signal.SIGKILL)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        if self.pid:
            self.kl._unregister_pid(self.pid)

    def _teardown(self) -> None:
        graceful = self.terminating and not self.deleted and not self.kl.stopping
        if self.proc is not None or graceful:
            self.event_quiet("Normal", "Killing", f"Stopping container {self.container['name']}")
        grace = self.kl.kill_grace
        if graceful:
            g = self.pod["metadata"].get("deletionGracePeriodSeconds")
            if g is not None:
                grace = min(float(g), grace)
        proc = self.proc
        self._kill_process(grace)
        if graceful:
            # the kubelet's last word on a gracefully deleted pod: final status, then delete with grace 0
            try:
                if self.phase not in ("Succeeded", "Failed") and self.started:
                    now = _now()
                    rc = proc.returncode if proc is not None and proc.returncode is not None else -signal.SIGTERM
                    exit_code = 128 - rc if rc < 0 else rc
                    self.cstate = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0
                                                  else "Error", "finishedAt": now,
                                                  "startedAt": (self.cstate.get("running") or {}).get("startedAt", now),
                                                  "containerID": self.container_id}}
                    self.ready = False
                    self.started = False
                    self.phase = "Succeeded" if exit_code == 0 else "Failed"
                    self.write_status()
            except (_Stop, KubeClientError, OSError):
                pass
            try:
                self.kl.client.delete(self.pod_path, {"apiVersion": "v1", "kind": "DeleteOptions",
                                                      "gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}})
            except (KubeClientError, OSError):
                pass
        for claim in self.attached:
            ATTACHMENTS.detach(self.ns, claim, self.kl.node_name, self.uid)
        for path in self.mount_points:
            MOUNT_POINTS.release(path)
        if self.dir is not None and not self.kl.keep_pod_dirs:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self.ip and self.ip != "127.0.0.1":
            IP_ALLOCATOR.release(self.ip)

    def event_quiet(self, *a, **kw) -> None:
        if self.kl.stopping:
            return
        try:
            self.event(*a, **kw)
        except Exception:
            pass


class _MountError(Exception):
    pass


class _ConfigError(Exception):
    pass


class _AttachError(_MountError):
    pass


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CLUSTER_DOMAIN = "cluster.local"


class FakeKubelet:
    """Runs the pods of one node as local processes. See the module docstring and README.md.

    server: a FakeKubeServer in this process (its URL and admin credentials are used; the kubelet registers in
        ``server.kubelets``, which serves ``kubectl logs`` and ``/_fake/kubelet/...``); or pass
        ``client`` (a KubeClient) / ``kubeconfig`` to run against a server in another process.
    command_rewrite: dict {argv[0] or its basename: replacement} or a callable ``(argv, pod, container) -> argv``.
        By default ``python``, ``python3`` and ``python3.X`` become ``sys.executable`` (the venv python).
    backoff_base / backoff_max: CrashLoopBackOff and ImagePullBackOff delays (seconds, doubling).
    wildcard_to_pod_ip: "0.0.0.0" in the command, env and mounted Secret/ConfigMap files becomes the pod IP: all
        pods share the host's network namespace here, so this is what makes wildcard binds on equal ports work.
    images: ``{image name: images.Image}`` (``images.load_images``): with ``isolate``, a container whose image is
        there runs in it (chrooted into an overlay of its root file system, its user, env, entrypoint and working
        dir), never rewritten; other images run as local commands.
    """

    def __init__(self, server=None, *, client: KubeClient | None = None, kubeconfig: str | None = None,
                 node_name: str = "fake-node", workdir: str | os.PathLike | None = None,
                 command_rewrite: dict[str, str] | Callable | None = None, python: str = sys.executable,
                 base_env: dict[str, str] | None = None, image_simulations: list[tuple[str, str]] | None = None,
                 schedule: bool = True, pull_seconds: float = 0.0, backoff_base: float = 0.5,
                 backoff_max: float = 5.0, scale_up_seconds: float = 2.0, oom_after_seconds: float = 0.5,
                 kill_grace: float = 3.0, ip_prefix: str = "127.0.0", ip_start: int = 2,
                 capacity: dict[str, str] | None = None, register_node: bool = True,
                 max_probe_period: float = 0.5, max_probe_delay: float = 2.0, keep_pod_dirs: bool = False,
                 wildcard_to_pod_ip: bool = True, labels: dict[str, str] | None = None,
                 taints: list[dict] | None = None, isolate: bool = False, volume_refresh_delay: float | None = 1.0,
                 service_account_token: str | None = None, ca_file: str | None = None, api_host: str | None = None,
                 api_port: int | None = None, hosts_refresh: float = 0.3, shared_paths: list[str] | None = None,
                 images: dict[str, Image] | None = None):
        self.server = server
        if client is None:
            if server is not None:
                creds = server.client_credentials()
                client = KubeClient(creds["server"], ca_file=creds["ca_file"], cert_file=creds["cert_file"],
                                    key_file=creds["key_file"], token=creds["token"],
                                    user_agent=f"fakekube-kubelet/{node_name}")
            elif kubeconfig is not None:
                client = KubeClient.from_kubeconfig(kubeconfig, user_agent=f"fakekube-kubelet/{node_name}")
            else:
                raise ValueError("FakeKubelet needs a server, a client or a kubeconfig")
        self.client = client
        self.node_name = node_name
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="fakekubelet-"))
        self.pods_dir = self.workdir / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.command_rewrite = command_rewrite
        self.python = python
        self.base_env = dict(base_env or {})
        self.image_simulations = list(DEFAULT_IMAGE_SIMULATIONS if image_simulations is None else image_simulations)
        self.schedule = schedule
        self.pull_seconds = pull_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.scale_up_seconds = scale_up_seconds
        self.oom_after_seconds = oom_after_seconds
        self.kill_grace = kill_grace
        self.ip_prefix = ip_prefix
        self.ip_start = ip_start
        self.capacity = {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        self.capacity.update(capacity or {})
        self.register_node = register_node
        self.max_probe_period = max_probe_period
        self.max_probe_delay = max_probe_delay
        self.keep_pod_dirs = keep_pod_dirs
        self.wildcard_to_pod_ip = wildcard_to_pod_ip
        self.labels = dict(labels or {})
        self.taints = list(taints or [])
        self.isolate = isolate
        self.volume_refresh_delay = volume_refresh_delay
        self.service_account_token = service_account_token
        self.ca_file = ca_file
        self.api_host = api_host
        self.api_port = api_port
        self.hosts_refresh = hosts_refresh
        # host dirs standing in for image files (an interpreter under /root, say) that pods running as a non-root
        # user must reach: inside the pod's mount namespace a private ancestor is masked and the dir bound back
        self.shared_paths = list(shared_paths or [])
        # images it has (images.load_images): their pods run in the image's root file system (isolate only)
        self.images = dict(images or {})
        self.hosts_entries: list[tuple[str, str, str]] = []
        self.volumes_dir = self.workdir / "volumes"
        self._hosts_thread: threading.Thread | None = None
        self.stopping = False
        self._workers: dict[str, PodWorker] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pids: set[int] = set()
        self._event_lock = threading.Lock()
        self.synced = threading.Event()

    # ------------------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------------------

    def start(self) -> "FakeKubelet":
        if self.register_node:
            self._register_node()
        self._thread = threading.Thread(target=self._loop, name=f"kubelet-{self.node_name}", daemon=True)
        self._thread.start()
        if self.isolate:
            self._sync_hosts()
            self._hosts_thread = threading.Thread(target=self._hosts_loop, name=f"hosts-{self.node_name}", daemon=True)
            self._hosts_thread.start()
        if self.server is not None:
            self.server.kubelets.append(self)
        if not self.synced.wait(timeout=10):
            raise TimeoutError("the kubelet double could not list pods within 10s")
        return self

    def stop(self) -> None:
        """Stop every pod process (process groups), remove the pod directories. Pods stay in the API."""
        self.stopping = True
        self._stop.set()
        self.client.retries = 1  # the server may already be gone: do not linger
        self.client.abort_watches()
        with self._lock:
            workers = list(self._workers.values())
        for w in workers:
            w.notify("stop")
        for w in workers:
            w.join(timeout=self.kill_grace + 6)
        for pid in list(self._pids):  # anything a worker could not reap
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._hosts_thread is not None:
            self._hosts_thread.join(timeout=5)
        if self.server is not None and self in self.server.kubelets:
            self.server.kubelets.remove(self)
        self.client.close()
        if self._own_workdir and not self.keep_pod_dirs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "FakeKubelet":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _sync_hosts(self) -> None:
        services = self.client.get("/api/v1/services").get("items") or []
        entries = []
        for svc in services:
            ip = (svc.get("spec") or {}).get("clusterIP")
            if ip and ip != "None":
                entries.append((ip, svc["metadata"]["name"], svc["metadata"]["namespace"]))
        self.hosts_entries = sorted(entries)
        with self._lock:
            workers = list(self._workers.values())
        for w in workers:
            try:
                w.write_hosts(self.hosts_entries)
            except OSError:
                pass

    def _hosts_loop(self) -> None:
        while not self._stop.wait(self.hosts_refresh):
            try:
                self._sync_hosts()
            except Exception:  # noqa: BLE001 - the server may be going away; try again
                pass

    def _register_pid(self, pid: int) -> None:
        self._pids.add(pid)

    def _unregister_pid(self, pid: int | None) -> None:
        if pid is not None:
            self._pids.discard(pid)

    def _register_node(self) -> None:
        ts = _now()
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "labels": {"kubernetes.io/hostname": self.node_name,
                                                                "kubernetes.io/os": "linux",
                                                                "kubernetes.io/arch": "amd64"}},
                "spec": {"taints": self.taints} if self.taints else {}}
        node["metadata"]["labels"].update(self.labels)
        try:
            self.client.post("/api/v1/nodes", node)
        except KubeClientError as e:
            if e.status != 409:
                raise
        current = self.client.get(f"/api/v1/nodes/{self.node_name}")
        current["status"] = {
            "capacity": dict(self.capacity), "allocatable": dict(self.capacity),
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": ts,
                            "lastTransitionTime": ts}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.node_name}],
            "nodeInfo": {"kubeletVersion": "v1.31.0-fakekube", "containerRuntimeVersion": "fakekube://1",
                         "operatingSystem": "linux", "architecture": "amd64", "osImage": "fakekube",
                         "kernelVersion": os.uname().release, "kubeProxyVersion": "", "machineID": "",
                         "systemUUID": "", "bootID": ""}}
        self.client.put(f"/api/v1/nodes/{self.node_name}/status", current)

    # ------------------------------------------------------------------------------------------------------
    # list + watch
    # ------------------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        rv: str | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                if rv is None:
                    lst = self.client.get("/api/v1/pods")
                    seen = set()
                    for pod in lst.get("items") or []:
                        seen.add(pod["metadata"]["uid"])
                        self._on_pod("SYNC", pod)
                    with self._lock:
                        gone = [w for uid, w in self._workers.items() if uid not in seen]
                    for w in gone:
                        w.notify("deleted")
                    rv = lst["metadata"]["resourceVersion"]
                    self.synced.set()
                for ev in self.client.watch("/api/v1/pods", {"resourceVersion": rv, "allowWatchBookmarks": "true",
                                                             "timeoutSeconds": "300"}, read_timeout=330):
                    failures = 0
                    etype, obj = ev.get("type"), ev.get("object") or {}
                    if etype == "ERROR":
                        if obj.get("code") == 410:
                            rv = None
                        break
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if etype != "BOOKMARK":
                        self._on_pod(etype, obj)
            except KubeClientError as e:
                if e.status == 410:
                    rv = None
                failures += 1
            except Exception:
                if self._stop.is_set():
                    return
                failures += 1
            if failures:
                self._stop.wait(min(0.05 * 2 ** failures, 2.0))

    def _on_pod(self, etype: str, pod: dict) -> None:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        uid = meta.get("uid")
        node = spec.get("nodeName")
        with self._lock:
            worker = self._workers.get(uid)
        if etype == "DELETED":
            if worker is not None:
                worker.notify("deleted", pod)
            return
        if worker is not None:
            worker.notify("update", pod)
            return
        if node and node != self.node_name:
            return
        if not node and (not self.schedule or spec.get("schedulerName", "default-scheduler") != "default-scheduler"):
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return
        if meta.get("deletionTimestamp"):
            if node == self.node_name:  # gracefully deleted while we were away: finish it
                try:
                    self.client.delete(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                                       {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}})
                except (KubeClientError, OSError):
                    pass
            return
        if self.stopping:
            return
        worker = PodWorker(self, pod)
        with self._lock:
            self._workers[uid] = worker
        worker.start()

    def _worker_done(self, worker: PodWorker) -> None:
        with self._lock:
            if self._workers.get(worker.uid) is worker:
                del self._workers[worker.uid]

    # ------------------------------------------------------------------------------------------------------
    # events
    # ------------------------------------------------------------------------------------------------------

    def record_event(self, worker: PodWorker, etype: str, reason: str, message: str, component: str = "kubelet",
                     field_path: str | None = None) -> None:
        key = (reason, message)
        ts = _now()
        prev = worker.events_sent.get(key)
        path = f"/api/v1/namespaces/{worker.ns}/events"
        try:
            if prev is not None:
                name, count = prev
                self.client.merge_patch(f"{path}/{name}", {"count": count + 1, "lastTimestamp": ts})
                worker.events_sent[key] = (name, count + 1)
                return
            name = f"{worker.name}.{uuid.uuid4().hex[:16]}"
            involved = {"kind": "Pod", "namespace": worker.ns, "name": worker.name, "uid": worker.uid,
                        "apiVersion": "v1", "resourceVersion": worker.pod["metadata"].get("resourceVersion", "")}
            if field_path:
                involved["fieldPath"] = field_path
            host = self.node_name if component == "kubelet" else None
            ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": worker.ns},
                  "involvedObject": involved, "reason": reason, "message": message, "type": etype,
                  "source": {"component": component, **({"host": host} if host else {})},
                  "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "eventTime": None,
                  "reportingComponent": component, "reportingInstance": host or ""}
            self.client.post(path, ev)
            worker.events_sent[key] = (name, 1)
        except KubeClientError as e:
            if e.status not in (403, 404):  # namespace gone or being deleted: events are best effort
                raise

    # ------------------------------------------------------------------------------------------------------
    # hooks for tests
    # ------------------------------------------------------------------------------------------------------

    def rewrite_command(self, argv: list[str], pod: dict, container: dict) -> list[str]:
        rw = self.command_rewrite
        if callable(rw):
            return list(rw(argv, pod, container))
        if not argv:
            return argv
        head = argv[0]
        base = os.path.basename(head)
        if isinstance(rw, dict):
            if head in rw:
                return [rw[head]] + argv[1:]
            if base in rw:
                return [rw[base]] + argv[1:]
        if _PYTHON_RE.match(base):
            # an image's python (bare name, or a path that is not a local interpreter outside system
            # directories) becomes ours; an existing local venv interpreter is kept as it is
            local = os.path.isabs(head) and os.path.exists(head) and not head.startswith(_SYSTEM_PREFIXES)
            if not local:
                return [self.python] + argv[1:]
        return argv

    def _worker(self, namespace: str, name: str) -> PodWorker | None:
        with self._lock:
            for w in self._workers.values():
                if w.ns == namespace and w.name == name:
                    return w
        return None

    def kill(self, namespace: str, name: str, sig: int = signal.SIGKILL) -> bool:
        """Kill the pod's process group from outside (as the OOM killer or an admin would)."""
        w = self._worker(namespace, name)
        if w is None or w.pid is None:
            return False
        w.notify("kill", sig)
        return True

    def pod_ip(self, namespace: str, name: str) -> str | None:
        w = self._worker(namespace, name)
        return w.ip if w else None

    def pod_dir(self, namespace: str, name: str) -> Path | None:
        w = self._worker(namespace, name)
        return w.dir if w else None

    def pod_pid(self, namespace: str, name: str) -> int | None:
        w = self._worker(namespace, name)
        return w.pid if w and w.proc is not None else None

    def read_log(self, namespace: str, name: str, container: str | None = None, params: dict | None = None) -> str | None:
        w = self._worker(namespace, name)
        if w is None or w.log_path is None:
            return None
        path = w.log_path
        if params and (params.get("previous") or [""])[0] in ("true", "1"):
            path = path.with_suffix(".previous.log")
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return "" if w.started else None

    def pods(self) -> list[dict]:
        with self._lock:
            workers = list(self._workers.values())
        return [{"namespace": w.ns, "name": w.name, "uid": w.uid, "ip": w.ip, "pid": w.pid if w.proc else None,
                 "phase": w.phase, "dir": str(w.dir) if w.dir else None, "argv": w.argv,
                 "restartCount": w.restart_count} for w in workers]
