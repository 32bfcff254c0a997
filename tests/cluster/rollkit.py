"""Helpers of test_rolling_update.py (issue 16): a module-scoped cluster built by test_end_to_end's ``world``, a
kernel WebSocket client for jupyter_server that records every message with its arrival time, and the analysis of
what a client received during a gateway roll."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from pathlib import Path

import requests
import websocket

from fakekube.client import KubeClientError
from fakekube.pytest_plugin import fake_kube_factory
from test_end_to_end import world


@contextlib.contextmanager
def cluster_world(tmp_path_factory, tmp: Path):
    """test_end_to_end's ``world`` (the images on a FakeCluster with CRDs and deploy/controller), entered
    once for a whole module: the fixtures' own generator functions, driven as context managers."""
    with contextlib.contextmanager(fake_kube_factory.__wrapped__)(tmp_path_factory) as factory:
        with contextlib.contextmanager(world.__wrapped__)(factory, tmp) as w:
            yield w


def not_yet(pred):
    """``pred`` with a 404 from the API or a refused / reset connection (a server not yet listening) taken as
    "not yet" (None), for wait_until."""
    def safe():
        try:
            return pred()
        except KubeClientError as e:
            if e.status == 404:
                return None
            raise
        except requests.ConnectionError:
            return None
    return safe


def is_ready(pod: dict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or [])


class LogKeeper:
    """The last log text seen of each pod (a deleted pod's log goes with its directory): ``snapshot`` while it runs."""

    def __init__(self, cluster):
        self.cluster, self.logs = cluster, {}

    def snapshot(self, namespace: str, names) -> None:
        for name in names:
            kl = self.cluster.kubelet_of(namespace, name)
            text = kl.read_log(namespace, name) if kl else None
            if text:
                self.logs[name] = text


class JupyterServer:
    """The notebook pod's jupyter_server, reached through its Service's cluster IP (the kube-proxy double)."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base.rstrip("/"), token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.http.headers["Connection"] = "close"  # no reuse of a spliced connection the server may have dropped

    def get(self, path: str, **kw):
        return self.http.get(f"{self.base}/{path}", timeout=kw.pop("timeout", 10), **kw)

    def post(self, path: str, body: dict, timeout: float = 60):
        return self.http.post(f"{self.base}/{path}", json=body, timeout=timeout)

    def delete(self, path: str, timeout: float = 30):
        return self.http.delete(f"{self.base}/{path}", timeout=timeout)

    def channels(self, kernel_id: str, session_id: str) -> "Channels":
        url = self.base.replace("http://", "ws://", 1) + f"/api/kernels/{kernel_id}/channels?session_id={session_id}"
        return Channels(url, self.token, session_id)


class Channels:
    """One kernel WebSocket (legacy JSON frames) with a reader thread: every message is kept with its arrival time;
    execute replies are indexed by their request's msg_id."""

    def __init__(self, url: str, token: str, session_id: str):
        self.session_id = session_id
        self.ws = websocket.create_connection(url, header=[f"Authorization: token {token}"], timeout=15,
                                              enable_multithread=True)
        self.ws.settimeout(None)
        self.lock = threading.Lock()
        self.messages: list[tuple[float, dict]] = []
        self.replies: dict[str, tuple[float, dict]] = {}
        self.sent: dict[str, float] = {}
        self.closed: tuple[float, object] | None = None
        self.reader = threading.Thread(target=self._read, name="channels-reader", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except Exception as e:  # noqa: BLE001 - any end of the socket ends the reader
                self.closed = (time.monotonic(), repr(e))
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self.closed = (time.monotonic(), data)
                return
            if opcode not in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                continue
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            now = time.monotonic()
            with self.lock:
                self.messages.append((now, msg))
                if msg.get("msg_type") == "execute_reply":
                    parent = (msg.get("parent_header") or {}).get("msg_id")
                    if parent:
                        self.replies.setdefault(parent, (now, msg))

    def execute(self, code: str) -> str:
        msg_id = uuid.uuid4().hex
        msg = {"header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session_id,
                          "username": "roll", "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ")},
               "parent_header": {}, "metadata": {}, "channel": "shell",
               "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                           "allow_stdin": False, "stop_on_error": False}}
        with self.lock:
            self.sent[msg_id] = time.monotonic()
        self.ws.send(json.dumps(msg))
        return msg_id

    def reply(self, msg_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if msg_id in self.replies:
                    return self.replies[msg_id][1]
            time.sleep(0.05)
        raise AssertionError(f"no execute_reply to {msg_id} within {timeout}s (socket closed: {self.closed})")

    def output_of(self, msg_id: str, timeout: float) -> str:
        """The stdout a request printed, once its reply and its idle status arrived."""
        reply = self.reply(msg_id, timeout)
        assert reply["content"]["status"] == "ok", reply["content"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                mine = [m for _, m in self.messages if (m.get("parent_header") or {}).get("msg_id") == msg_id]
            if any(m.get("msg_type") == "status" and m["content"].get("execution_state") == "idle" for m in mine):
                return "".join(m["content"]["text"] for m in mine
                               if m.get("msg_type") == "stream" and m["content"].get("name") == "stdout")
            time.sleep(0.05)
        raise AssertionError(f"no idle status for {msg_id}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close(timeout=2)


class Ticker(threading.Thread):
    """Sends ``code`` as an execute_request every ``period`` seconds (not waiting for replies) until stopped."""

    def __init__(self, channels: Channels, code: str, period: float = 0.1):
        super().__init__(name="ticker", daemon=True)
        self.channels, self.code, self.period = channels, code, period
        self.ids: list[str] = []
        self.errors: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self.stopped.is_set():
            try:
                self.ids.append(self.channels.execute(self.code))
            except Exception as e:  # noqa: BLE001 - recorded, the analysis reports it
                self.errors.append(repr(e))
            next_at += self.period
            self.stopped.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.stopped.set()
        if self.ident is not None:
            self.join(timeout=5)


COUNTER = re.compile(r"^C(\d+)$", re.M)


def counter_report(messages: list[tuple[float, dict]], start: float, end: float) -> dict:
    """What the client got of the counter (stdout lines ``C<i>``): gaps, duplicates, the longest silence."""
    arrivals: list[tuple[float, int]] = []
    for t, m in messages:
        if m.get("msg_type") == "stream" and m["content"].get("name") == "stdout":
            arrivals += [(t, int(v)) for v in COUNTER.findall(m["content"].get("text", ""))]
    values = [v for _, v in arrivals]
    seen: dict[int, int] = {}
    for v in values:
        seen[v] = seen.get(v, 0) + 1
    lo, hi = (min(values), max(values)) if values else (0, -1)
    gaps = [v for v in range(lo, hi + 1) if v not in seen]
    times = [start] + [t for t, _ in arrivals if start <= t <= end] + [end]
    pause = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    out_of_order = sum(1 for a, b in zip(values, values[1:]) if b < a)
    return {"received": len(values), "first": lo, "last": hi, "gaps": len(gaps), "missing": gaps[:200],
            "duplicates": sorted(v for v, k in seen.items() if k > 1)[:200], "out_of_order": out_of_order,
            "largest_pause_s": round(pause, 3)}


def execute_report(channels: Channels, ids: list[str]) -> dict:
    with channels.lock:
        rtts = {i: channels.replies[i][0] - channels.sent[i] for i in ids if i in channels.replies}
        statuses = [channels.replies[i][1]["content"].get("status") for i in ids if i in channels.replies]
    missing = [i for i in ids if i not in rtts]
    worst = max(rtts.items(), key=lambda kv: kv[1], default=(None, 0.0))
    answered = sorted(channels.replies[i][0] for i in rtts)
    silence = max((b - a for a, b in zip(answered, answered[1:])), default=0.0)
    return {"sent": len(ids), "replied": len(rtts), "missing": missing,
            "missing_index": [ids.index(i) for i in missing],
            "not_ok": sum(1 for s in statuses if s != "ok"),
            "largest_rtt_s": round(worst[1], 3), "largest_rtt_index": ids.index(worst[0]) if worst[0] else None,
            "largest_pause_between_replies_s": round(silence, 3),
            "median_rtt_s": round(sorted(rtts.values())[len(rtts) // 2], 4) if rtts else None}
