"""Connections to one kernel: through a gateway's WebSocket (legacy JSON or v1) or directly over ZeroMQ.

Every connection offers the same calls, so every measurement runs the same code against every target:
  send(channel, msg_type, content) -> msg_id
  next_msg(light) -> Msg | None      (never blocks)
  recv_msg(timeout, light) -> Msg    (blocks at most `timeout` seconds)
  poll_handles() -> objects for a zmq.Poller (a TCP socket or ZeroMQ sockets)

`light=True` skips JSON decoding of messages that are neither `status` nor replies (stream floods): such a
message comes back as Msg(kind="other"). The check is a substring test on bytes that the message text of
the floods (`x` characters and digits) can never contain.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import struct
import time
import uuid

import zmq

from .wsclient import OP_BINARY, WSClient

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


class Msg:
    __slots__ = ("channel", "msg_type", "parent_id", "content", "kind")

    def __init__(self, channel, msg_type, parent_id, content, kind="full"):
        self.channel = channel
        self.msg_type = msg_type
        self.parent_id = parent_id
        self.content = content
        self.kind = kind

    def is_idle_for(self, msg_id: str) -> bool:
        return (self.msg_type == "status" and self.parent_id == msg_id
                and self.content.get("execution_state") == "idle")

    def __repr__(self):
        return f"Msg({self.channel}, {self.msg_type}, parent={self.parent_id})"


OTHER = Msg(None, None, None, None, kind="other")


def _header(msg_type: str, session: str) -> dict:
    return {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench", "session": session,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
            "version": "5.3"}


def execute_content(code: str) -> dict:
    return {"code": code, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}


class Conn:
    session: str

    def recv_msg(self, timeout: float, light: bool = False) -> Msg:
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next_msg(light)
            if msg is not None:
                return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.wait(remaining):
                raise TimeoutError(f"no message within {timeout:.1f} s")

    def request(self, msg_type: str, content: dict, reply_type: str, timeout: float, channel="shell",
                want_idle=False) -> Msg:
        """Sends a request and waits for its reply (and its iopub idle if asked)."""
        msg_id = self.send(channel, msg_type, content)
        deadline = time.monotonic() + timeout
        reply = None
        idle = not want_idle
        while reply is None or not idle:
            msg = self.recv_msg(max(0.0, deadline - time.monotonic()))
            if msg.parent_id != msg_id:
                continue
            if msg.msg_type == reply_type:
                reply = msg
            elif msg.is_idle_for(msg_id):
                idle = True
        return reply

    def settle(self, timeout: float = 30.0) -> None:
        """Sends kernel_info_request until both its reply and an iopub message for it arrive.

        After this the iopub subscription is known to be live (a SUB socket connected just now may miss the
        first messages).
        """
        deadline = time.monotonic() + timeout
        while True:
            msg_id = self.send("shell", "kernel_info_request", {})
            got_reply = got_iopub = False
            retry_at = min(deadline, time.monotonic() + 1.0)
            while not (got_reply and got_iopub) and time.monotonic() < retry_at:
                try:
                    msg = self.recv_msg(max(0.01, retry_at - time.monotonic()))
                except TimeoutError:
                    break
                if msg.parent_id == msg_id:
                    got_reply |= msg.msg_type == "kernel_info_reply"
                    got_iopub |= msg.channel == "iopub"
            if got_reply and got_iopub:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError("kernel did not answer kernel_info_request")

    def drain(self, quiet: float = 0.2, limit: float = 5.0) -> int:
        """Reads and drops messages until none arrives for `quiet` seconds."""
        n = 0
        end = time.monotonic() + limit
        while time.monotonic() < end:
            try:
                self.recv_msg(quiet, light=True)
                n += 1
            except TimeoutError:
                break
        return n


class WSConn(Conn):
    """A kernel through a gateway's /api/kernels/{id}/channels WebSocket."""

    def __init__(self, host: str, port: int, kernel_id: str, protocol: str = "legacy", timeout: float = 60.0):
        self.session = uuid.uuid4().hex
        self.v1 = protocol == "v1"
        path = f"/api/kernels/{kernel_id}/channels?session_id={self.session}"
        self.ws = WSClient(host, port, path, [V1_PROTOCOL] if self.v1 else None, timeout=timeout)
        if self.v1 and self.ws.subprotocol != V1_PROTOCOL:
            raise RuntimeError(f"server did not accept {V1_PROTOCOL} (got {self.ws.subprotocol!r})")

    def send(self, channel: str, msg_type: str, content: dict) -> str:
        header = _header(msg_type, self.session)
        if self.v1:
            parts = [channel.encode(), json.dumps(header).encode(), b"{}", b"{}", json.dumps(content).encode()]
            offsets = [8 * (1 + 1 + len(parts))]
            for part in parts:
                offsets.append(offsets[-1] + len(part))
            frame = struct.pack(f"<Q{len(offsets)}Q", len(offsets), *offsets) + b"".join(parts)
            self.ws.send(frame, OP_BINARY)
        else:
            self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                     "channel": channel, "buffers": []}))
        return header["msg_id"]

    def next_msg(self, light: bool = False):
        message = self.ws.next_message()
        if message is None:
            return None
        op, payload = message
        if self.v1:
            return self._decode_v1(payload, light)
        if op == OP_BINARY:
            # Legacy binary frame (message with buffers): u32 count, u32 offsets, JSON, buffers.
            count = struct.unpack_from("!I", payload)[0]
            offsets = struct.unpack_from(f"!{count}I", payload, 4)
            end = offsets[1] if count > 1 else len(payload)
            payload = payload[offsets[0]:end]
        if light and b"execution_state" not in payload and b"_reply" not in payload:
            return OTHER
        d = json.loads(payload)
        return Msg(d.get("channel"), d["header"].get("msg_type"), (d.get("parent_header") or {}).get("msg_id"),
                   d.get("content") or {})

    @staticmethod
    def _decode_v1(payload: bytes, light: bool):
        count = struct.unpack_from("<Q", payload)[0]
        offsets = struct.unpack_from(f"<{count}Q", payload, 8)
        header = payload[offsets[1]:offsets[2]]
        if light and b'"status"' not in header and b"_reply" not in header:
            return OTHER
        channel = payload[offsets[0]:offsets[1]].decode()
        parent = json.loads(payload[offsets[2]:offsets[3]])
        content = json.loads(payload[offsets[4]:offsets[5]]) if count > 5 else {}
        return Msg(channel, json.loads(header).get("msg_type"), parent.get("msg_id"), content)

    def wait(self, timeout: float) -> bool:
        return self.ws.wait_readable(timeout)

    def poll_handles(self):
        return [self.ws.sock]

    def close(self):
        self.ws.close()


class DirectConn(Conn):
    """A kernel reached directly over ZeroMQ (the floor): shell/control DEALER and iopub SUB, signed as
    jupyter_client signs. Incoming signatures are not verified (the floor does the least work)."""

    def __init__(self, info: dict, context: zmq.Context | None = None):
        self.session = uuid.uuid4().hex
        self.ctx = context or zmq.Context.instance()
        key = info["key"].encode() if isinstance(info["key"], str) else info["key"]
        self.auth = hmac.new(key, digestmod=hashlib.sha256) if key else None
        ip, transport = info.get("ip", "127.0.0.1"), info.get("transport", "tcp")

        def endpoint(port):
            return f"ipc://{ip}-{port}" if transport == "ipc" else f"tcp://{ip}:{port}"

        self.sockets = {}
        for channel, kind in (("shell", zmq.DEALER), ("control", zmq.DEALER), ("iopub", zmq.SUB)):
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, 0)
            if kind == zmq.SUB:
                s.setsockopt(zmq.SUBSCRIBE, b"")
            else:
                s.setsockopt(zmq.IDENTITY, self.session.encode())
            s.connect(endpoint(info[f"{channel}_port"]))
            self.sockets[channel] = s
        self._order = [(c, self.sockets[c]) for c in ("iopub", "shell", "control")]
        self._poller = zmq.Poller()
        for s in self.sockets.values():
            self._poller.register(s, zmq.POLLIN)

    def send(self, channel: str, msg_type: str, content: dict) -> str:
        header = _header(msg_type, self.session)
        parts = [json.dumps(header).encode(), b"{}", b"{}", json.dumps(content).encode()]
        if self.auth:
            h = self.auth.copy()
            for p in parts:
                h.update(p)
            signature = h.hexdigest().encode()
        else:
            signature = b""
        self.sockets[channel].send_multipart([b"<IDS|MSG>", signature] + parts)
        return header["msg_id"]

    def next_msg(self, light: bool = False):
        for channel, s in self._order:
            try:
                frames = s.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                continue
            i = frames.index(b"<IDS|MSG>")
            header = frames[i + 2]
            if light and b'"status"' not in header and b"_reply" not in header:
                return OTHER
            return Msg(channel, json.loads(header).get("msg_type"), json.loads(frames[i + 3]).get("msg_id"),
                       json.loads(frames[i + 5]))
        return None

    def wait(self, timeout: float) -> bool:
        return bool(self._poller.poll(timeout * 1000))

    def poll_handles(self):
        return list(self.sockets.values())

    def close(self):
        for s in self.sockets.values():
            s.close(0)


class LibWSConn(WSConn):
    """The same kernel WebSocket (legacy JSON), read with the `websocket-client` library instead of our raw
    client: what scripts and many tools use. It reads each frame with exactly-sized `recv` calls (so its TCP
    stack acknowledges later than a client that reads in large chunks, which a server with Nagle's algorithm
    on pays for at the tail of each large message). UTF-8 validation of text frames is switched off: the
    library does it in pure Python unless `wsaccel` is installed, ≈5 MB/s, and would measure only itself."""

    def __init__(self, host: str, port: int, kernel_id: str, timeout: float = 60.0):
        import websocket  # websocket-client, installed with the test requirements

        self.session = uuid.uuid4().hex
        self.v1 = False
        self._lib = websocket
        self.ws = websocket.create_connection(
            f"ws://{host}:{port}/api/kernels/{kernel_id}/channels?session_id={self.session}", timeout=timeout,
            skip_utf8_validation=True)

    def send(self, channel: str, msg_type: str, content: dict) -> str:
        header = _header(msg_type, self.session)
        self.ws.send(json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                                 "channel": channel, "buffers": []}))
        return header["msg_id"]

    def recv_msg(self, timeout: float, light: bool = False) -> Msg:
        self.ws.settimeout(max(timeout, 0.001))
        try:
            payload = self.ws.recv()
        except self._lib.WebSocketTimeoutException as exc:
            raise TimeoutError(f"no message within {timeout:.1f} s") from exc
        if isinstance(payload, str):
            payload = payload.encode()
        if light and b"execution_state" not in payload and b"_reply" not in payload:
            return OTHER
        d = json.loads(payload)
        return Msg(d.get("channel"), d["header"].get("msg_type"), (d.get("parent_header") or {}).get("msg_id"),
                   d.get("content") or {})

    def next_msg(self, light: bool = False):
        return self.recv_msg(0.001, light) if self.wait(0) else None

    def wait(self, timeout: float) -> bool:
        import select

        return bool(select.select([self.ws.sock], [], [], timeout)[0])

    def poll_handles(self):
        return [self.ws.sock]

    def close(self):
        self.ws.close()
