"""Shared client helpers for the ElasticJupyter end-to-end tests.

Everything here talks to a gateway over the wire only (HTTP + WebSocket):
  - REST helpers (start/stop kernels, error-body checks, raw HTTP for exact paths),
  - a small WebSocket kernel client speaking both the legacy JSON protocol and
    ``v1.kernel.websocket.jupyter.org`` (codecs written here, not borrowed),
  - process helpers (free ports, pid checks, RSS sampling, waiting).
"""

from __future__ import annotations

import collections
import datetime
import http.client
import json
import os
import re
import signal
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import requests
import websocket

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
LAST_ACTIVITY_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KERNEL_MODEL_KEYS = {"id", "name", "last_activity", "execution_state", "connections"}

HTTP_TIMEOUT = 90  # seconds; a POST /api/kernels blocks until the kernel is up
WS_TIMEOUT = 30


# --------------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GiveUp(Exception):
    """Raised by a wait_until predicate to stop waiting at once (e.g. the process died)."""


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; return it. AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last_exc = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else ""))
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    """True while the process exists (a zombie that nobody reaped still counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rss_bytes(pid: int) -> int:
    """Current resident set size (VmRSS) of a process, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def vm_hwm_bytes(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process, in bytes: it only grows, so a difference over a test is
    the most the test made the process hold at any moment."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for pid {pid}")


class RssSampler:
    """Samples a process' VmRSS in a background thread; ``peak`` is the maximum seen."""

    def __init__(self, pid: int, interval: float = 0.05, kill_above: int | None = None):
        """``kill_above``: SIGKILL the process once its RSS passes this many bytes (a test that may make an old
        binary allocate without bound must not take the machine with it); ``tripped`` then says so."""
        self.pid, self.interval, self.kill_above = pid, interval, kill_above
        self.peak = rss_bytes(pid)
        self.tripped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (OSError, AssertionError):
                return
            if self.kill_above is not None and self.peak > self.kill_above:
                self.tripped = True
                os.kill(self.pid, signal.SIGKILL)
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def utcnow_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# REST
# --------------------------------------------------------------------------------------------


def assert_json_error(resp: requests.Response, status: int | Iterable[int], forbidden_text: Iterable[str] = ()) -> dict:
    """Check the error contract: JSON {"reason": str, "message": str}, no traceback, no server paths."""
    statuses = {status} if isinstance(status, int) else set(status)
    assert resp.status_code in statuses, f"expected {sorted(statuses)}, got {resp.status_code}: {resp.text[:500]!r}"
    ctype = resp.headers.get("Content-Type", "")
    assert "json" in ctype, f"error body must be JSON, Content-Type={ctype!r}, body={resp.text[:300]!r}"
    body = resp.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("reason"), str), body
    assert isinstance(body.get("message"), str), body
    assert "traceback" not in body, body
    text = json.dumps(body)
    for needle in list(forbidden_text) + ["Traceback (most recent call last)", ".swift:", '.py"', "/usr/lib/", "/usr/local/"]:
        if needle:
            assert needle not in text, f"error body leaks {needle!r}: {text[:500]}"
    return body


def raw_http(host: str, port: int, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
             timeout: float = 30, tls: bool = False) -> tuple[int, dict, bytes]:
    """Send a request with the path exactly as given (requests/urllib3 would normalise ``..``)."""
    if tls:
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        # a Host given by the caller replaces http.client's own (two Host headers would be a different request)
        conn.putrequest(method, path, skip_host=any(k.lower() == "host" for k in hdrs), skip_accept_encoding=True)
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


class Rest:
    """Thin REST client bound to a gateway's base URL (and token, if any)."""

    def __init__(self, http_url: str, base_url: str = "/", token: str | None = None, verify: bool = True):
        self.http_url = http_url.rstrip("/")  # scheme://host:port
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.token = token
        self.verify = verify
        self.session = requests.Session()
        self.session.trust_env = False  # never go through a proxy: loopback only

    def url(self, path: str) -> str:
        return self.http_url + self.base_url + path.lstrip("/")

    def request(self, method: str, path: str, auth: bool = True, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", None) or {})
        if auth and self.token and "Authorization" not in headers:
            headers["Authorization"] = f"token {self.token}"
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("verify", self.verify)
        return self.session.request(method, self.url(path), headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    # kernels ----------------------------------------------------------------------------

    def start_kernel(self, name: str | None = "python3", env: dict | None = None, path: str | None = None,
                     expect: int = 201, **extra) -> dict:
        body: dict[str, Any] = dict(extra)
        if name is not None:
            body["name"] = name
        if env is not None:
            body["env"] = env
        if path is not None:
            body["path"] = path
        r = self.post("api/kernels", json=body)
        assert r.status_code == expect, f"POST /api/kernels {body} -> {r.status_code} {r.text[:500]}"
        return r.json()

    def kernel(self, kernel_id: str) -> requests.Response:
        return self.get(f"api/kernels/{kernel_id}")

    def delete_kernel(self, kernel_id: str) -> requests.Response:
        return self.delete(f"api/kernels/{kernel_id}")


# --------------------------------------------------------------------------------------------
# WebSocket codecs
# --------------------------------------------------------------------------------------------


def encode_v1(channel: str, parts: list[bytes]) -> bytes:
    """v1.kernel.websocket.jupyter.org frame: u64le count, u64le offsets[count], channel, parts."""
    ch = channel.encode("utf-8")
    offsets = [8 * (1 + 1 + len(parts) + 1)]
    offsets.append(offsets[-1] + len(ch))
    for p in parts:
        offsets.append(offsets[-1] + len(p))
    head = struct.pack("<Q", len(offsets)) + b"".join(struct.pack("<Q", o) for o in offsets)
    return head + ch + b"".join(parts)


def decode_v1(frame: bytes) -> tuple[str, list[bytes]]:
    """Inverse of :func:`encode_v1` with strict bounds checks (raises ValueError)."""
    if len(frame) < 8:
        raise ValueError("v1 frame too short")
    (count,) = struct.unpack_from("<Q", frame, 0)
    if count < 2 or 8 * (count + 1) > len(frame):
        raise ValueError(f"bad v1 offset count {count}")
    offsets = list(struct.unpack_from(f"<{count}Q", frame, 8))
    if offsets[0] != 8 * (count + 1) or offsets[-1] != len(frame) or offsets != sorted(offsets):
        raise ValueError(f"bad v1 offsets {offsets} for frame of {len(frame)} bytes")
    channel = frame[offsets[0]:offsets[1]].decode("utf-8")
    parts = [frame[offsets[i]:offsets[i + 1]] for i in range(1, count - 1)]
    return channel, parts


def encode_legacy_binary(msg: dict) -> bytes:
    """Legacy binary frame (a JSON message with buffers): u32be n, u32be offsets[n], json, buffers."""
    msg = dict(msg)
    buffers = [bytes(b) for b in msg.pop("buffers", [])]
    chunks = [json.dumps(msg).encode("utf-8")] + buffers
    n = len(chunks)
    offsets = [4 * (n + 1)]
    for c in chunks[:-1]:
        offsets.append(offsets[-1] + len(c))
    return struct.pack(f"!{n + 1}I", n, *offsets) + b"".join(chunks)


def decode_legacy_binary(frame: bytes) -> dict:
    (n,) = struct.unpack_from("!I", frame, 0)
    if n < 1 or 4 * (n + 1) > len(frame):
        raise ValueError(f"bad legacy binary buffer count {n}")
    offsets = list(struct.unpack_from(f"!{n}I", frame, 4)) + [len(frame)]
    chunks = [frame[offsets[i]:offsets[i + 1]] for i in range(n)]
    msg = json.loads(chunks[0].decode("utf-8"))
    msg["buffers"] = chunks[1:]
    return msg


# --------------------------------------------------------------------------------------------
# WebSocket kernel client
# --------------------------------------------------------------------------------------------


class WSClosed(Exception):
    """The server closed the WebSocket (close frame or dropped connection)."""

    def __init__(self, code: int | None, reason: str):
        super().__init__(f"websocket closed: code={code} reason={reason!r}")
        self.code, self.reason = code, reason


@dataclass
class ExecResult:
    msg_id: str
    reply: dict | None = None  # execute_reply content
    messages: list = field(default_factory=list)  # every message with this parent, in arrival order

    @property
    def stdout(self) -> str:
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["content"].get("name") == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["content"].get("name") == "stderr")

    @property
    def errors(self) -> list[dict]:
        return [m["content"] for m in self.messages if m["msg_type"] == "error"]

    @property
    def status(self) -> str | None:
        return self.reply.get("status") if self.reply else None

    def of_type(self, msg_type: str) -> list[dict]:
        return [m for m in self.messages if m["msg_type"] == msg_type]


def make_header(msg_type: str, session: str, username: str = "itest") -> dict:
    return {
        "msg_id": uuid.uuid4().hex,
        "msg_type": msg_type,
        "username": username,
        "session": session,
        "date": utcnow_iso(),
        "version": "5.3",
    }


def parent_id(msg: dict) -> str | None:
    return (msg.get("parent_header") or {}).get("msg_id")


class KernelWS:
    """A WebSocket client for /api/kernels/{id}/channels.

    protocol: "legacy" (no subprotocol offered) or "v1" (offers v1.kernel.websocket.jupyter.org).
    ``self.protocol`` is what the server actually selected; if v1 was offered but not echoed we fall back
    to legacy (that is what a browser does too).
    """

    def __init__(self, url: str, protocol: str = "legacy", session_id: str | None = None,
                 token: str | None = None, headers: list[str] | None = None, timeout: float = WS_TIMEOUT,
                 sslopt: dict | None = None):
        assert protocol in ("legacy", "v1")
        self.session_id = session_id or uuid.uuid4().hex
        if "session_id=" not in url:
            url += ("&" if "?" in url else "?") + f"session_id={self.session_id}"
        self.url = url
        hdrs = list(headers or [])
        if token:
            hdrs.append(f"Authorization: token {token}")
        if protocol == "v1":
            # Offered by hand: websocket-client's own `subprotocols=` refuses a server that selects none,
            # which RFC 6455 (and every browser) allows. We read the answer ourselves.
            hdrs.append(f"Sec-WebSocket-Protocol: {V1_PROTOCOL}")
        self.ws = websocket.create_connection(url, header=hdrs, timeout=timeout, sslopt=sslopt, enable_multithread=True)
        self.requested = protocol
        self.response_headers = {k.lower(): v for k, v in (self.ws.getheaders() or {}).items()}
        self.negotiated = self.response_headers.get("sec-websocket-protocol")
        if self.negotiated not in (None, V1_PROTOCOL):
            raise AssertionError(f"server selected a subprotocol that was not offered: {self.negotiated!r}")
        if self.negotiated and protocol != "v1":
            raise AssertionError(f"server selected {self.negotiated!r} although no subprotocol was offered")
        self.protocol = "v1" if self.negotiated == V1_PROTOCOL else "legacy"
        self.inbox: collections.deque = collections.deque()
        self.closed: WSClosed | None = None
        self.opcodes: list[int] = []  # opcode of every data frame received (for binary-vs-text checks)

    # -- sending --------------------------------------------------------------------------

    def send_raw_text(self, text: str):
        self.ws.send(text, opcode=websocket.ABNF.OPCODE_TEXT)

    def send_raw_binary(self, data: bytes):
        self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def send_msg(self, channel: str, msg_type: str, content: dict | None = None, parent: dict | None = None,
                 metadata: dict | None = None, buffers: list[bytes] | None = None) -> dict:
        header = make_header(msg_type, self.session_id)
        msg = {
            "header": header,
            "parent_header": parent or {},
            "metadata": metadata or {},
            "content": content or {},
            "channel": channel,
            "buffers": list(buffers or []),
        }
        if self.protocol == "v1":
            parts = [json.dumps(msg[k]).encode("utf-8") for k in ("header", "parent_header", "metadata", "content")]
            self.send_raw_binary(encode_v1(channel, parts + [bytes(b) for b in msg["buffers"]]))
        elif msg["buffers"]:
            self.send_raw_binary(encode_legacy_binary(msg))
        else:
            wire = dict(msg)
            wire.pop("buffers")
            self.send_raw_text(json.dumps(wire))
        return header

    # -- receiving ------------------------------------------------------------------------

    def _decode(self, opcode: int, data) -> dict:
        if opcode == websocket.ABNF.OPCODE_TEXT:
            if isinstance(data, bytes):
                data = data.decode("utf-8")
            msg = json.loads(data)
            msg.setdefault("buffers", [])
            msg["_frame"] = "text"
        else:
            data = bytes(data)
            if self.protocol == "v1":
                channel, parts = decode_v1(data)
                msg = {
                    "channel": channel,
                    "header": json.loads(parts[0]),
                    "parent_header": json.loads(parts[1]),
                    "metadata": json.loads(parts[2]),
                    "content": json.loads(parts[3]),
                    "buffers": parts[4:],
                }
            else:
                msg = decode_legacy_binary(data)
            msg["_frame"] = "binary"
        msg["msg_type"] = msg["header"].get("msg_type") or msg.get("msg_type")
        msg["msg_id"] = msg["header"].get("msg_id")
        return msg

    def _recv_one(self, timeout: float) -> dict:
        """Receive one data message from the socket. Raises TimeoutError or WSClosed."""
        if self.closed:
            raise self.closed
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no message")
            self.ws.settimeout(remaining)
            try:
                opcode, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("no message") from None
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError) as exc:
                if isinstance(exc, (socket.timeout, TimeoutError)) and not isinstance(exc, ConnectionError):
                    raise TimeoutError("no message") from None
                self.closed = WSClosed(None, f"connection dropped: {exc!r}")
                raise self.closed from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                reason = data[2:].decode("utf-8", "replace")
                self.closed = WSClosed(code, reason)
                raise self.closed
            if opcode in (websocket.ABNF.OPCODE_PING, websocket.ABNF.OPCODE_PONG):
                continue
            self.opcodes.append(opcode)
            return self._decode(opcode, frame.data)

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = WS_TIMEOUT, what: str = "message") -> dict:
        """First message (inbox first, then the socket) satisfying predicate; others stay in the inbox."""
        for i, m in enumerate(self.inbox):
            if predicate(m):
                del self.inbox[i]
                return m
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what} on {self.url}")
            try:
                m = self._recv_one(remaining)
            except TimeoutError:
                continue
            if predicate(m):
                return m
            self.inbox.append(m)

    def drain(self, duration: float) -> list[dict]:
        """Receive whatever arrives during ``duration`` seconds (plus the inbox); returns all of it."""
        out = list(self.inbox)
        self.inbox.clear()
        deadline = time.monotonic() + duration
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return out
            try:
                out.append(self._recv_one(remaining))
            except TimeoutError:
                return out

    def wait_closed(self, timeout: float = 10) -> WSClosed:
        """Read (and discard) until the server closes the socket. AssertionError if it stays open."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"websocket still open after {timeout}s")
            try:
                self.inbox.append(self._recv_one(remaining))
            except TimeoutError:
                continue
            except WSClosed as c:
                return c

    # -- requests -------------------------------------------------------------------------

    def request(self, channel: str, msg_type: str, content: dict | None = None, timeout: float = WS_TIMEOUT) -> dict:
        """Send a request and return its reply message (``*_reply`` with our msg_id as parent)."""
        header = self.send_msg(channel, msg_type, content)
        reply_type = msg_type.replace("_request", "_reply")
        return self.wait_for(lambda m: parent_id(m) == header["msg_id"] and m["msg_type"] == reply_type,
                             timeout, what=reply_type)

    def kernel_info(self, timeout: float = WS_TIMEOUT) -> dict:
        return self.request("shell", "kernel_info_request", {}, timeout)

    def send_execute(self, code: str, allow_stdin: bool = False, silent: bool = False) -> str:
        header = self.send_msg("shell", "execute_request", {
            "code": code, "silent": silent, "store_history": False, "user_expressions": {},
            "allow_stdin": allow_stdin, "stop_on_error": True,
        })
        return header["msg_id"]

    def collect(self, msg_id: str, timeout: float = WS_TIMEOUT, stdin: Callable[[dict], str] | None = None) -> ExecResult:
        """Collect everything with parent msg_id until both execute_reply and iopub idle have arrived."""
        res = ExecResult(msg_id)
        idle = False
        deadline = time.monotonic() + timeout
        while res.reply is None or not idle:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise AssertionError("deadline")
                m = self.wait_for(lambda m: parent_id(m) == msg_id, remaining, what=f"output of {msg_id}")
            except AssertionError:
                others = [(m["channel"], m["msg_type"]) for m in self.inbox]
                raise AssertionError(
                    f"execute {msg_id} incomplete after {timeout}s on {self.url} (execute_reply={res.reply is not None}, "
                    f"iopub idle={idle}); got {[(m['channel'], m['msg_type']) for m in res.messages]}; "
                    f"unrelated messages meanwhile: {others[-20:]}") from None
            res.messages.append(m)
            if m["msg_type"] == "execute_reply":
                res.reply = m["content"]
            elif m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
                idle = True
            elif m["msg_type"] == "input_request":
                assert stdin is not None, "unexpected input_request"
                self.send_msg("stdin", "input_reply", {"value": stdin(m)}, parent=m["header"])
        return res

    def execute(self, code: str, timeout: float = WS_TIMEOUT, allow_stdin: bool = False,
                stdin: Callable[[dict], str] | None = None) -> ExecResult:
        return self.collect(self.send_execute(code, allow_stdin=allow_stdin or stdin is not None), timeout, stdin)

    def execute_ok(self, code: str, timeout: float = WS_TIMEOUT) -> str:
        """Execute and return stdout; fail with the kernel's error if it did not succeed."""
        res = self.execute(code, timeout)
        assert res.status == "ok", f"execute failed: {res.reply} {res.errors}"
        return res.stdout

    def close(self):
        try:
            self.ws.close(timeout=2)
        except Exception:  # noqa: BLE001
            pass

    def abandon(self):
        """Drop the TCP connection without a closing handshake."""
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # noqa: BLE001
            pass
        try:
            self.ws.sock.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ws_url(http_url: str, base_url: str, kernel_id: str) -> str:
    base = base_url if base_url.endswith("/") else base_url + "/"
    scheme = "wss" if http_url.startswith("https") else "ws"
    hostport = http_url.split("://", 1)[1].rstrip("/")
    return f"{scheme}://{hostport}{base}api/kernels/{kernel_id}/channels"


def ws_handshake_status(url: str, headers: list[str] | None = None, timeout: float = 10, origin: str | None = None,
                        suppress_origin: bool = False) -> int:
    """Try a WebSocket upgrade; return 101 on success or the HTTP status of the refusal. websocket-client sends
    ``Origin: http(s)://<host:port of url>`` unless given ``origin`` (sent instead) or ``suppress_origin``."""
    try:
        ws = websocket.create_connection(url, header=headers or [], timeout=timeout, origin=origin,
                                         suppress_origin=suppress_origin)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    ws.close()
    return 101


def int_lines(text: str) -> list[int]:
    return [int(x) for x in text.split()]
