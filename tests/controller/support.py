"""Processes and helpers for the controller tests: the fake API server and the real controller binary.

Everything is started on 127.0.0.1, every wait is bounded, and every process is stopped by its owner.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from fakekube.client import KubeClient, KubeClientError  # noqa: E402
from fakekube.kubeconfig import write_kubeconfig  # noqa: E402
from fakekube.tlsutil import CertificateAuthority  # noqa: E402

BINARY = Path(os.environ.get("EJ_BINARY", REPO_ROOT / ".build" / "debug" / "elastic-jupyter"))
PYTHON = Path(os.environ.get("EJ_TEST_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
CRD_DIR = REPO_ROOT / "crds"
SAMPLES_DIR = REPO_ROOT / "deploy" / "samples"
GROUP, VERSION = "kubeflow.tkestack.io", "v1alpha1"
LIVE: list["Process"] = []


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1, message: str = "condition",
               details: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (AssertionError, KubeClientError, KeyError, IndexError, TypeError) as e:
            last = e
        if time.monotonic() >= deadline:
            extra = f"\n{details()}" if details else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}" +
                                 (f" (last: {last!r})" if last else "") + extra)
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=REPO_ROOT, env=env or os.environ.copy(), start_new_session=True)
        LIVE.append(self)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL. Returns the exit status."""
        try:
            if self.alive:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            return self.proc.returncode
        finally:
            if self.proc.stdin:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            self._log.close()
            if self in LIVE:
                LIVE.remove(self)


class FakeKube:
    """``python -m tests.fakekube`` over HTTPS with client-certificate authentication, the CRDs applied."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        info_file = workdir / "info.json"
        self.admin_kubeconfig = workdir / "admin.kubeconfig"
        cmd = [str(PYTHON), "-m", "tests.fakekube", "--tls", "--client-cert-auth", "--port", "0",
               "--kubeconfig", str(self.admin_kubeconfig), "--info-file", str(info_file),
               "--workdir", str(workdir / "work"), "--stop-on-stdin-eof"]
        for crd in sorted(CRD_DIR.glob("*.yaml")):
            if crd.name != "kustomization.yaml":
                cmd += ["--apply", str(crd)]
        self.process = Process("fakekube", cmd, workdir / "fakekube.log")
        try:
            wait_until(lambda: info_file.exists() and info_file.read_text().strip(), timeout=60,
                       message="the fake API server", details=self.process.log_tail)
        except AssertionError:
            self.process.stop()
            raise
        self.info = json.loads(info_file.read_text())
        self.url = self.info["url"]
        self.ca = CertificateAuthority(workdir / "work" / "pki")
        self.api = KubeClient.from_kubeconfig(str(self.admin_kubeconfig))

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig with a client certificate for ``user`` (group system:masters)."""
        pair = self.ca.issue(f"user-{user}", user, orgs=("system:masters",))
        return write_kubeconfig(self.workdir / f"{user}.kubeconfig", self.url, ca_file=self.ca.cert,
                                cert_file=pair.cert, key_file=pair.key)

    # -- control API (/_fake/) over the admin TLS connection ------------------------------------------------

    def control(self, method: str, path: str, body: Any = None) -> Any:
        return self.api.request(method, "/_fake/" + path.lstrip("/"), body)

    def requests(self, **params) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.control("GET", "requests" + (f"?{query}" if query else ""))["items"]

    def add_fault(self, **rule) -> dict:
        return self.control("POST", "faults", rule)

    def faults(self) -> list[dict]:
        return self.control("GET", "faults")["items"]

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def drop_watches(self, abrupt: bool = True) -> int:
        return self.control("POST", "watches/drop", {"abrupt": abrupt})["dropped"]

    def objects(self) -> list[dict]:
        return self.control("GET", "objects")["items"]

    # -- object helpers ---------------------------------------------------------------------------------------

    def get(self, path: str) -> dict | None:
        try:
            return self.api.get(path)
        except KubeClientError as e:
            if e.status == 404:
                return None
            raise

    def stop(self) -> None:
        self.api.close()
        self.process.stop()


class Controller:
    """The real ``elastic-jupyter controller`` process."""

    def __init__(self, kubeconfig: Path, log_dir: Path, name: str = "controller", leader_elect: bool = False,
                 extra: list[str] | None = None):
        if not BINARY.exists():
            raise RuntimeError(f"controller binary not found: {BINARY} (build it with "
                               "`swift build --product elastic-jupyter`, or set EJ_BINARY)")
        self.name = name
        self.metrics_port = free_port()
        self.health_port = free_port()
        cmd = [str(BINARY), "controller", "--kubeconfig", str(kubeconfig), "--bind-address", "127.0.0.1",
               "--metrics-port", str(self.metrics_port), "--health-port", str(self.health_port),
               "--identity", name, "--log-level", os.environ.get("EJ_TEST_LOG_LEVEL", "debug"),
               "--resync-period", "30", "--gateway-image", "elastic-jupyter:test",
               # claims are never bound on the bare fake API server: their condition comes after a second
               "--claim-pending-grace", "1"]
        cmd += ["--leader-elect"] if leader_elect else ["--no-leader-elect"]
        cmd += extra or []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBERNETES_", "EJ_", "POD_"))}
        self.process = Process(name, cmd, log_dir / f"{name}.log", env=env)

    def http(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except OSError:
            return 0, ""

    def ready(self) -> bool:
        assert self.process.alive, f"{self.name} exited:\n{self.process.log_tail()}"
        return self.http(self.health_port, "/readyz")[0] == 200

    def wait_ready(self, timeout: float = 30) -> "Controller":
        wait_until(self.ready, timeout=timeout, message=f"{self.name} /readyz", details=self.process.log_tail)
        return self

    def metrics(self) -> str:
        return self.http(self.metrics_port, "/metrics")[1]

    def stop(self, grace: float = 10.0) -> int | None:
        return self.process.stop(grace)


# -- small object helpers ---------------------------------------------------------------------------------------


def cr_path(plural: str, namespace: str = "default", name: str | None = None) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


def core_path(kind_plural: str, namespace: str = "default", name: str | None = None, group: str = "") -> str:
    base = "/api/v1" if not group else f"/apis/{group}"
    path = f"{base}/namespaces/{namespace}/{kind_plural}"
    return f"{path}/{name}" if name else path


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env") or []}


def secret_value(secret: dict, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def condition(obj: dict, kind: str) -> dict | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def kernel_pod(name: str, gateway: str, notebook: str | None = None, user: str = "alice") -> dict:
    labels = {"app.kubernetes.io/name": "elastic-jupyter", "app.kubernetes.io/component": "kernel",
              "elastic-jupyter.io/gateway": gateway, "elastic-jupyter.io/user": user, "kernel_id": name,
              # what the gateway writes (issue 17): the first 40 hex digits of SHA-256 of the user name
              "elastic-jupyter.io/user-hash": hashlib.sha256(user.encode()).hexdigest()[:40]}
    if notebook:
        labels["elastic-jupyter.io/notebook"] = notebook
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "kernel", "image": "python:3.12"}]}}


class DeploymentStatusDouble:
    """Stands in for the Deployment controller (the fake has none): reports every Deployment as rolled out."""

    def __init__(self, fake: FakeKube):
        import threading
        self.fake = fake
        self.api = KubeClient.from_kubeconfig(str(fake.admin_kubeconfig))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deployment-status", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            try:
                items = self.api.get("/apis/apps/v1/deployments")["items"]
                for d in items:
                    meta, spec, status = d["metadata"], d.get("spec") or {}, d.get("status") or {}
                    replicas = spec.get("replicas", 1)
                    want = {"observedGeneration": meta.get("generation", 1), "replicas": replicas,
                            "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}
                    if any(status.get(k) != v for k, v in want.items()):
                        self.api.merge_patch(f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/"
                                             f"{meta['name']}/status", {"status": want})
            except Exception:  # noqa: BLE001 - the server may be going away; try again
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.api.close()


def request_permission(method: str, path: str, watch: bool) -> tuple[str, str, str]:
    """(apiGroup, resource[/subresource], verb) of an API request, as RBAC sees it."""
    parts = [p for p in path.split("/") if p]
    if parts[0] == "api":
        group, rest = "", parts[2:]
    else:
        group, rest = parts[1], parts[3:]
    if rest and rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource += "/" + rest[2]
    verb = {"GET": "watch" if watch else ("get" if name else "list"), "POST": "create", "PUT": "update",
            "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[method]
    return group, resource, verb


def rbac_allows(rules: list[dict], group: str, resource: str, verb: str) -> bool:
    for rule in rules:
        if group in rule.get("apiGroups", []) and resource in rule.get("resources", []) and verb in rule.get("verbs", []):
            return True
    return False
