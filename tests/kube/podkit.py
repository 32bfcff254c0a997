"""Helpers of the pod-kernel tests (tests/kube): kernelspecs, gateways, the fake cluster, waits, cleanup checks.

The gateway under test runs as a process with ``KUBECONFIG`` pointing at a fakekube API server; its kernels run
as pods that the kubelet double starts as local processes on their own 127.0.0.X. Everything here talks to the
gateway over HTTP / WebSocket and to the fake cluster through its Python API (no HTTP, so the fake's request
log contains the gateway's requests only).
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import queue
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests
import yaml

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
REPO = TESTS.parent

from procs import Gateway, GatewayConfig  # noqa: E402  (tests/integration, put on sys.path by conftest)
from helpers import KernelWS, wait_until  # noqa: E402,F401

VENV_PY = REPO / ".venv" / "bin" / "python"
ECHO_KERNEL = Path(os.environ.get("EJ_ECHO_KERNEL", REPO / ".build" / "debug" / "echo-kernel"))
KUBERNETES_VALIDATE = REPO / ".venv" / "bin" / "kubernetes-validate"

IPYKERNEL_ARGV = [str(VENV_PY), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
ECHO_ARGV = [str(ECHO_KERNEL), "-f", "{connection_file}"]

KERNEL_NS = "ej-kernels"
LAUNCH_TIMEOUT = 120  # the gateway's --kernel-launch-timeout in these tests: failures must be much faster
FAST_FAILURE = 30  # seconds within which a failing start must be reported

# Every Pod and Secret the gateways under test created in any fake cluster (by uid), as first stored:
# test_pod_manifests.py validates them against the Kubernetes schemas.
RENDERED: dict[str, dict] = {}
RENDERED_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# kernelspecs
# --------------------------------------------------------------------------------------------


def pod_template(annotations: dict | None = None, labels: dict | None = None, spec: dict | None = None,
                 container: dict | None = None) -> dict:
    """A pod template as a kernelspec's pod.yaml (placeholders allowed in string values)."""
    meta: dict[str, Any] = {"annotations": {"ej-test/kernel": "{{ kernel_id }}", "ej-test/user": "{{ kernel_username }}"}}
    meta["annotations"].update(annotations or {})
    if labels:
        meta["labels"] = dict(labels)
    c = {"name": "kernel", "image": "{{ kernel_image }}",
         "env": [{"name": "EJ_TEST_POD", "value": "{{ kernel_pod_name }}"}]}
    c.update(container or {})
    s = {"terminationGracePeriodSeconds": 5, "containers": [c]}
    s.update(spec or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": s}


def write_pod_kernelspec(root: Path, name: str, *, argv: list[str] | None = None, template: dict | None = None,
                         ours: dict | None = None, interrupt_mode: str | None = "message",
                         process_proxy: bool = False) -> Path:
    """``root/<name>/kernel.json`` + ``pod.yaml``: a kernelspec whose kernels run as pods."""
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    elastic = {"provisioner": "kubernetes", "image": "python:3.12", "pod_template": "pod.yaml",
               "max_cpus": "2", "max_memory": "2Gi", "max_gpus": 1}
    elastic.update(ours or {})
    metadata: dict[str, Any] = {"elastic_jupyter": elastic}
    if process_proxy:  # EG's spelling only: the class name alone makes it a pod kernelspec
        metadata = {"process_proxy": {"class_name": "enterprise_gateway.services.processproxies.k8s.KubernetesProcessProxy",
                                      "config": {"image_name": "python:3.12"}},
                    "elastic_jupyter": {k: v for k, v in elastic.items() if k != "provisioner"}}
    spec: dict[str, Any] = {"argv": argv or IPYKERNEL_ARGV, "display_name": f"pod {name}", "language": "python",
                            "metadata": metadata}
    if interrupt_mode:
        spec["interrupt_mode"] = interrupt_mode
    (d / "kernel.json").write_text(json.dumps(spec, indent=1))
    (d / "pod.yaml").write_text(yaml.safe_dump(template or pod_template(), sort_keys=False))
    return d


# --------------------------------------------------------------------------------------------
# the fake cluster
# --------------------------------------------------------------------------------------------


class Collector:
    """Records every kernel Pod and Secret stored in a fake server (first version of each uid) through an in-process
    watch of the store: nothing the gateway creates is missed, however short-lived, and the fake's request log
    is untouched."""

    def __init__(self, kube):
        self.kube = kube
        self.watches = []
        for kind in ("Pod", "Secret"):
            rt = kube.resource_type("v1", kind)
            w, initial, _err, _ = kube.store.open_watch(rt, None, user_agent="ej-kube-tests-collector")
            self.watches.append(w)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rendered-collector")
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            idle = True
            for w in self.watches:
                try:
                    item = w.queue.get(timeout=0.05)
                except queue.Empty:
                    continue
                if item is None:
                    continue
                idle = False
                etype, obj = item
                labels = (obj.get("metadata") or {}).get("labels") or {}
                # kernel pods and their connection Secrets only: a test that runs the controller beside the
                # gateway (test_pod_profiles) also stores the controller's Secrets (the users Secret), not ours
                if (etype == "ADDED" and labels.get("app.kubernetes.io/name") == "elastic-jupyter"
                        and labels.get("app.kubernetes.io/component") == "kernel"):
                    uid = obj["metadata"].get("uid")
                    with RENDERED_LOCK:
                        RENDERED.setdefault(uid, copy.deepcopy(obj))
            if idle:
                time.sleep(0.01)

    def stop(self):
        self._stop.set()
        for w in self.watches:
            self.kube.store.close_watch(w)
            w.close()
        self._thread.join(5)


@dataclass
class Cluster:
    """A fake API server + kubelet double + kubeconfig, with the queries the tests need."""

    kube: Any
    kubelet: Any
    kubeconfig: Path
    namespace: str = KERNEL_NS

    def pods(self, gateway: str | None = None) -> list[dict]:
        sel = "app.kubernetes.io/component=kernel"
        if gateway:
            sel += f",elastic-jupyter.io/gateway={gateway}"
        return self.kube.list_objects("v1", "Pod", self.namespace, label_selector=sel)

    def pod(self, name: str) -> dict | None:
        return self.kube.get_object("v1", "Pod", name, self.namespace)

    def kernel_pod(self, kernel_id: str) -> dict | None:
        items = self.kube.list_objects("v1", "Pod", self.namespace, label_selector=f"kernel_id={kernel_id}")
        return items[0] if items else None

    def secrets(self) -> list[dict]:
        return self.kube.list_objects("v1", "Secret", self.namespace)

    def kernel_objects(self, gateway: str | None = None) -> list[str]:
        """Every kernel Pod and Secret in the namespace (of one gateway, if given), as ``Kind/name``."""
        out = []
        for kind in ("Pod", "Secret"):
            for o in self.kube.list_objects("v1", kind, self.namespace):
                labels = o["metadata"].get("labels") or {}
                if labels.get("app.kubernetes.io/component") != "kernel" and kind == "Pod":
                    continue
                if gateway and labels.get("elastic-jupyter.io/gateway") != gateway:
                    continue
                out.append(f"{kind}/{o['metadata']['name']}")
        return sorted(out)

    def wait_clean(self, gateway: str | None = None, timeout: float = 20):
        """Wait until no kernel Pod or Secret (of ``gateway``) is left; fail with what remains."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.kernel_objects(gateway)
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"left in the fake cluster after {timeout}s: {left}")
            time.sleep(0.1)

    def wait_pod(self, predicate: Callable[[dict], bool], timeout: float = 20, what: str = "pod") -> dict:
        def find():
            for p in self.kube.list_objects("v1", "Pod", self.namespace):
                if predicate(p):
                    return p
            return None
        return wait_until(find, timeout, 0.05, what=what)

    def gateway_requests(self, since: int = 0, **kw) -> list[dict]:
        """API requests of the code under test (the kubelet double's are left out by the fake)."""
        return self.kube.requests(since=since, **kw)

    def last_seq(self) -> int:
        reqs = self.kube.requests(include_internal=True, include_control=True)
        return reqs[-1]["seq"] if reqs else 0


_IP_BLOCKS = itertools.count()


def kubelet_options(**kw) -> dict:
    """Options of the kubelet doubles of these tests: pod IPs in a /24 of our own (127.<pid-based>.<n>.X), so that
    kernels of concurrent test runs on this machine, which all use the same five fixed kernel ports, never meet."""
    n = next(_IP_BLOCKS)
    kw.setdefault("ip_prefix", f"127.{100 + os.getpid() % 150}.{(os.getpid() // 150 + n) % 250}")
    return kw


def make_cluster(kube, kubelet, tmp_path: Path, *, namespace: str = KERNEL_NS, embed: bool = False) -> Cluster:
    if kube.get_object("v1", "Namespace", namespace) is None:
        kube.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kc = kube.write_kubeconfig(tmp_path / f"kubeconfig-{kube.port}", namespace=namespace, embed=embed)
    return Cluster(kube, kubelet, Path(kc), namespace)


# --------------------------------------------------------------------------------------------
# the gateway under test
# --------------------------------------------------------------------------------------------


class PodGateway(Gateway):
    """tests/integration's Gateway process helper, with full control over the cluster configuration it sees:
    only ``KUBECONFIG`` (if given) points at a cluster; no in-cluster variables, a HOME without ~/.kube."""

    def __init__(self, config: GatewayConfig, log_dir: Path, label: str, home: Path, kubeconfig: Path | None,
                 env: dict | None = None):
        super().__init__(config, log_dir, label)
        self.home = home
        self.kubeconfig = kubeconfig
        self.env_overrides = dict(env or {})  # e.g. KUBERNETES_SERVICE_HOST: "as if in a cluster"

    def _ej_command(self):
        cmd, env = super()._ej_command()
        for k in list(env):
            if k == "KUBECONFIG" or k.startswith("KUBERNETES_"):
                del env[k]
        env["HOME"] = str(self.home)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        env.update(self.env_overrides)
        return cmd, env

    def stop(self, grace: float = 8):
        """SIGTERM, then SIGKILL after ``grace`` s (a gateway stuck in its shutdown must not stall the suite)."""
        super().stop(grace)

    # -- kernels ----------------------------------------------------------------------------

    def start(self) -> "PodGateway":
        super().start()
        return self

    def post_kernel(self, name: str, env: dict | None = None, timeout: float = 90) -> tuple[Any, float]:
        """POST /api/kernels; returns (response, seconds it took)."""
        t0 = time.monotonic()
        body: dict[str, Any] = {"name": name}
        if env:
            body["env"] = env
        r = self.rest.post("api/kernels", json=body, timeout=timeout)
        return r, time.monotonic() - t0

    def responsiveness(self) -> str:
        """Whether the gateway still answers a trivial request (a hung start may be a wedged gateway)."""
        try:
            return f"answers GET /api/kernelspecs ({self.rest.get('api/kernelspecs', timeout=5).status_code})"
        except Exception as e:  # noqa: BLE001
            return f"does not answer GET /api/kernelspecs within 5 s: wedged ({type(e).__name__})"

    def start_kernel(self, name: str, env: dict | None = None, timeout: float = 60) -> str:
        try:
            r, _ = self.post_kernel(name, env, timeout)
        except requests.Timeout:
            raise AssertionError(f"POST /api/kernels {name} {env}: no answer within {timeout}s; the gateway "
                                 f"{self.responsiveness()}") from None
        assert r.status_code == 201, f"POST /api/kernels {name} {env} -> {r.status_code} {r.text[:800]}\n{self.log_tail(30)}"
        return r.json()["id"]

    def ws(self, kernel_id: str) -> KernelWS:
        return KernelWS(self.ws_url(kernel_id))

    def kernel_ids(self) -> list[str]:
        return [k["id"] for k in self.rest.get("api/kernels", timeout=30).json()]


@dataclass
class GatewayFactory:
    log_dir: Path
    tmp_path: Path
    started: list = field(default_factory=list)

    def __call__(self, specs_dir: Path, kubeconfig: Path | None, *, name: str = "gw-test",
                 namespace: str | None = KERNEL_NS, launch_timeout: float = LAUNCH_TIMEOUT, auto_restart: bool = True,
                 extra_args: list[str] | None = None, label: str | None = None, start: bool = True,
                 env: dict | None = None) -> PodGateway:
        args = ["--gateway-name", name]
        if namespace:
            args += ["--namespace", namespace]
        args += list(extra_args or [])
        home = self.tmp_path / f"home-{name}-{len(self.started)}"
        home.mkdir(parents=True, exist_ok=True)
        cfg = GatewayConfig(kernelspec_dirs=[specs_dir], kernel_launch_timeout=launch_timeout,
                            auto_restart=auto_restart, root_dir=self.tmp_path, extra_args=args)
        g = PodGateway(cfg, self.log_dir, label or name, home, kubeconfig, env)
        self.started.append(g)
        return g.start() if start else g

    def stop_all(self):
        for g in reversed(self.started):
            g.stop()


# --------------------------------------------------------------------------------------------
# misc
# --------------------------------------------------------------------------------------------


def status_messages(ws: KernelWS, state: str, timeout: float) -> dict:
    """Wait for an iopub ``status`` message with ``execution_state == state``."""
    return ws.wait_for(lambda m: m["msg_type"] == "status" and m["content"].get("execution_state") == state,
                       timeout, what=f"iopub status {state}")


def held_post(gw: PodGateway, body: dict) -> socket.socket:
    """Send ``POST /api/kernels`` on a raw socket and return the socket without reading the answer."""
    data = json.dumps(body).encode()
    s = socket.create_connection((gw.host, gw.port), timeout=10)
    s.sendall(b"POST /api/kernels HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % (gw.host.encode(), gw.port, len(data)) + data)
    return s


def probe_kernel(cluster: "Cluster", pod: dict, timeout: float = 3) -> str:
    """Ask a pod's kernel for kernel_info directly (connection file from its Secret, the pod IP): 'ok' or why not."""
    import base64

    from jupyter_client import BlockingKernelClient

    secret = cluster.kube.get_object("v1", "Secret", pod["metadata"]["name"] + "-connection", cluster.namespace)
    if secret is None:
        return "no Secret"
    info = json.loads(base64.b64decode(secret["data"]["connection.json"]))
    info["ip"] = (pod.get("status") or {}).get("podIP")
    if not info["ip"]:
        return "no pod IP"
    client = BlockingKernelClient()
    client.load_connection_info(info)
    client.start_channels()
    try:
        return client.kernel_info(reply=True, timeout=timeout)["content"]["status"]
    except Exception as e:  # noqa: BLE001
        return f"no answer ({type(e).__name__})"
    finally:
        client.stop_channels()


def describe_kernel_pods(cluster: "Cluster", kernel_ids: set[str] | None = None) -> list[str]:
    """Diagnostics for a failed test: each kernel pod's phase, IP, container state and a direct kernel_info."""
    out = []
    for p in cluster.pods():
        if kernel_ids is not None and p["metadata"]["labels"].get("kernel_id") not in kernel_ids:
            continue
        st = p.get("status") or {}
        cs = (st.get("containerStatuses") or [{}])[0]
        out.append(f"{p['metadata']['name']}: {st.get('phase')} {st.get('podIP')} {cs.get('state')} "
                   f"restarts={cs.get('restartCount')} kernel_info={probe_kernel(cluster, p)}")
    return out


def strip_server_fields(obj: dict) -> dict:
    """The object as a client would write it: no status, no server-set metadata."""
    o = copy.deepcopy(obj)
    o.pop("status", None)
    m = o.get("metadata") or {}
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
              "deletionTimestamp", "deletionGracePeriodSeconds"):
        m.pop(k, None)
    return o


def kubernetes_validate(files: list[Path], version: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(KUBERNETES_VALIDATE), "-k", version, "--strict", "--quiet", *map(str, files)],
                          capture_output=True, text=True, timeout=300)


# --------------------------------------------------------------------------------------------
# gateway restarts: kernels that outlive their gateway (issue 16)
# --------------------------------------------------------------------------------------------

# A kernel that prints "tick N" every 100 ms from a background thread: its shell stays free (kernel_info, a
# restarted gateway's probe, is answered at once) while its output keeps coming on iopub.
COUNTER_CODE = """\
import threading, time
def _ej_count():
    i = 0
    while True:
        i += 1
        print(f"tick {i}", flush=True)
        time.sleep(0.1)
threading.Thread(target=_ej_count, daemon=True, name="ej-counter").start()
"""


def ticks(messages: list[dict]) -> list[int]:
    """The counter values (COUNTER_CODE) in these WebSocket messages, in arrival order."""
    import re

    text = "".join(m["content"].get("text", "") for m in messages if m.get("msg_type") == "stream")
    return [int(n) for n in re.findall(r"tick (\d+)", text)]


def successor(factory: GatewayFactory, old: PodGateway, *, extra_args: list[str] | None = None,
              env: dict | None = None, same_port: bool = True, start: bool = True, label: str | None = None,
              **config_changes) -> PodGateway:
    """A new gateway process configured as ``old`` was (kubeconfig, namespace, --gateway-name, kernelspecs, HOME
    and, by default, its port): the gateway after a restart, a crash or a rolling update. ``extra_args`` are added
    to ``old``'s arguments, ``config_changes`` replace GatewayConfig fields. Stopped with the factory's others."""
    import dataclasses

    cfg = dataclasses.replace(old.config, port=old.port if same_port else None,
                              extra_args=[*old.config.extra_args, *(extra_args or [])], **config_changes)
    g = PodGateway(cfg, factory.log_dir, label or f"{old.log_path.stem}-next", old.home, old.kubeconfig,
                   {**old.env_overrides, **(env or {})})
    factory.started.append(g)
    return g.start() if start else g


def kill_hard(gw: PodGateway) -> None:
    """``kill -9`` the gateway process (no chance to clean anything up) and reap it."""
    import signal

    assert gw.proc is not None and gw.alive(), "the gateway is not running"
    os.kill(gw.pid, signal.SIGKILL)
    gw.proc.wait(10)


def terminate(gw: PodGateway, timeout: float = 30) -> int | None:
    """SIGTERM the gateway process; its exit code, or None if it is still running after ``timeout`` s."""
    import signal

    assert gw.proc is not None and gw.alive(), "the gateway is not running"
    gw.proc.send_signal(signal.SIGTERM)
    try:
        return gw.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def kernel_object_uids(cluster: Cluster, gateway: str | None = None) -> dict[str, str]:
    """``{"Pod/<name>" | "Secret/<name>": uid}`` of the kernel Pods and Secrets (of ``gateway``, if given)."""
    out = {}
    for ref in cluster.kernel_objects(gateway):
        kind, name = ref.split("/", 1)
        obj = cluster.kube.get_object("v1", kind, name, cluster.namespace)
        if obj is not None:
            out[ref] = obj["metadata"]["uid"]
    return out


def pod_secret_creations_and_deletions(cluster: Cluster, since: int) -> list[str]:
    """The gateways' POST and DELETE requests on pods or Secrets after request ``since`` (PATCHes are left out)."""
    import re

    return [f"{q['method']} {q['path']} -> {q['status']}" for q in cluster.gateway_requests(since=since)
            if q["method"] in ("POST", "DELETE") and re.search(r"/(pods|secrets)(/|$)", q["path"])]


def listed_kernels(gw: PodGateway, timeout: float = 5) -> dict[str, str]:
    """``{id: kernelspec name}`` of GET /api/kernels, which must answer within ``timeout`` s."""
    r = gw.rest.get("api/kernels", timeout=timeout)
    assert r.status_code == 200, f"GET /api/kernels -> {r.status_code} {r.text[:300]}"
    return {k["id"]: k["name"] for k in r.json()}


# --------------------------------------------------------------------------------------------
# several replicas of one gateway (issue 16)
# --------------------------------------------------------------------------------------------


def replicas(factory: GatewayFactory, specs_dir: Path, cluster: Cluster, *, name: str = "gw-rep",
             ids: tuple[str, ...] = ("a", "b"), extra_args: list[str] | None = None) -> list[PodGateway]:
    """Replicas of one gateway: processes with the same kubeconfig, namespace, kernelspecs and --gateway-name,
    each with its own ``--replica-id`` (and port, HOME and log). Stopped with the factory's others."""
    return [factory(specs_dir, cluster.kubeconfig, name=name, label=f"{name}-{rid}",
                    extra_args=["--replica-id", rid, *(extra_args or [])]) for rid in ids]


def log_lines(gw: PodGateway, *needles: str) -> list[str]:
    """The lines of the gateway's whole log that contain every one of ``needles``."""
    try:
        text = gw.log_path.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if all(n in line for n in needles)]


def pod_deletions(cluster: Cluster, pod_name: str, since: int = 0) -> list[str]:
    """The gateways' DELETE requests on that pod after request ``since``, as ``"DELETE <path> -> <status>"``."""
    import re

    return [f"{q['method']} {q['path']} -> {q['status']}"
            for q in cluster.gateway_requests(since=since, method="DELETE", path=rf"/pods/{re.escape(pod_name)}$")]
