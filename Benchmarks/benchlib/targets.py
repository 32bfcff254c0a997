"""The three things measured: our gateway, Enterprise Gateway, and kernels driven directly (the floor).

A target starts kernels and hands out connections (see conns.py). Every process started here is tracked and
stopped in `stop()` (SIGTERM, then SIGKILL after a bounded wait), including kernels a gateway left behind.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .conns import DirectConn, WSConn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """VmRSS (or RssAnon, RssFile) of one process (not its children), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM a process and then its leftover descendants; SIGKILL whatever is still there after `grace`."""
    if proc.poll() is not None:
        return
    family = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    leftovers = [p for p in family if _alive(p)]
    for p in leftovers:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    end = time.monotonic() + 5
    while time.monotonic() < end and any(_alive(p) for p in leftovers):
        time.sleep(0.05)
    for p in leftovers:
        if _alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


class HTTPError(Exception):
    pass


class GatewayTarget:
    """A gateway process (ours or EG) speaking the EG REST + WebSocket API on 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(self, label: str, argv: list[str], env: dict, port: int, log_path: Path, protocol="legacy"):
        self.label = label
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log_path
        self.protocol = protocol
        self.proc: subprocess.Popen | None = None
        self.kernels: set[str] = set()

    # -- process -------------------------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> None:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _ = self.http("GET", "/api/kernelspecs", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label} not ready within {timeout:.0f} s; see {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self, field: str = "VmRSS") -> int:
        return rss_kib(self.proc.pid, field)

    # -- REST ----------------------------------------------------------------------------------------
    def http(self, method: str, path: str, body=None, timeout: float = 60.0):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def start_kernel(self, name: str, timeout: float = 120.0) -> str:
        # EG refuses user "root" (its default unauthorized_users); both gateways get the same request.
        body = {"name": name, "env": {"KERNEL_USERNAME": "bench"}}
        status, body = self.http("POST", "/api/kernels", body, timeout=timeout)
        if status not in (200, 201):
            raise HTTPError(f"{self.label}: POST /api/kernels {name} -> {status} {body}")
        self.kernels.add(body["id"])
        return body["id"]

    def connect(self, kernel_id: str, timeout: float = 60.0):
        return WSConn(self.host, self.port, kernel_id, protocol=self.protocol, timeout=timeout)

    def shutdown_kernel(self, kernel_id: str, timeout: float = 60.0) -> None:
        try:
            self.http("DELETE", f"/api/kernels/{kernel_id}", timeout=timeout)
        finally:
            self.kernels.discard(kernel_id)


class DirectTarget:
    """Kernels started and driven by jupyter_client in this process, with no gateway in between."""

    label = "direct"

    def __init__(self, kernelspecs_dir: Path, log_path: Path):
        from jupyter_client.kernelspec import KernelSpecManager

        self.ksm = KernelSpecManager(kernel_dirs=[str(kernelspecs_dir)])
        self.managers = {}
        self.log_path = log_path
        self._log = None

    def start(self) -> None:
        self._log = open(self.log_path, "wb")

    def stop(self) -> None:
        for kernel_id in list(self.managers):
            try:
                self.shutdown_kernel(kernel_id)
            except Exception:  # noqa: BLE001 - best effort
                pass
        if self._log:
            self._log.close()
            self._log = None

    def start_kernel(self, name: str, timeout: float = 120.0) -> str:
        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name=name, kernel_spec_manager=self.ksm)
        km.start_kernel(stdout=self._log, stderr=subprocess.STDOUT)
        kernel_id = km.kernel_id or str(id(km))
        self.managers[kernel_id] = km
        return kernel_id

    def connect(self, kernel_id: str, timeout: float = 60.0):
        return DirectConn(self.managers[kernel_id].get_connection_info())

    def shutdown_kernel(self, kernel_id: str, timeout: float = 60.0) -> None:
        km = self.managers.pop(kernel_id)
        try:
            km.shutdown_kernel(now=False)
        except Exception:  # noqa: BLE001
            km.shutdown_kernel(now=True)
        finally:
            km.cleanup_resources()
