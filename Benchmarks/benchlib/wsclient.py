"""A small, fast WebSocket client (RFC 6455) over a raw TCP socket.

Written for measurements: one `recv` system call fills a large buffer from which many frames are parsed,
frames are returned as `bytes` without further processing, TCP_NODELAY is set, and nothing blocks without a
deadline. The same client talks to every gateway, so the client's own cost is equal for all of them.
"""
from __future__ import annotations

import base64
import os
import select
import socket
import struct
import time

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RECV_CHUNK = 1 << 20


class WSClosed(Exception):
    """The server closed the connection (code and reason if it sent a close frame)."""

    def __init__(self, code: int | None = None, reason: str = ""):
        super().__init__(f"WebSocket closed (code={code}, reason={reason!r})")
        self.code = code
        self.reason = reason


class WSClient:
    def __init__(self, host: str, port: int, path: str, subprotocols: list[str] | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        self._pos = 0
        self._fragments: list[bytes] = []
        self._fragment_op = 0
        self.closed = False
        self.subprotocol = self._handshake(host, port, path, subprotocols or [], headers or {}, timeout)
        # Blocking mode from now on; reads use MSG_DONTWAIT and waits use select() with a deadline.
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(timeout), 0))

    # -- handshake -------------------------------------------------------------------------------------
    def _handshake(self, host, port, path, subprotocols, headers, timeout) -> str | None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(subprotocols))
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        deadline = time.monotonic() + timeout
        data = bytearray()
        while b"\r\n\r\n" not in data:
            if time.monotonic() > deadline:
                raise TimeoutError("WebSocket handshake timed out")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WSClosed(None, "connection closed during handshake")
            data += chunk
        head, _, rest = bytes(data).partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in status_line + " ":
            raise WSClosed(None, f"handshake refused: {status_line}")
        self._buf += rest
        for line in header_lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-protocol":
                return value.strip()
        return None

    # -- sending -----------------------------------------------------------------------------------------
    def send(self, payload: bytes | str, opcode: int | None = None) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
            opcode = OP_TEXT if opcode is None else opcode
        elif opcode is None:
            opcode = OP_BINARY
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        # XOR the payload with the repeated mask in one big-integer operation (fast for any size).
        repeated = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "little") ^ int.from_bytes(repeated, "little")).to_bytes(n, "little")
        self.sock.sendall(head + mask + masked)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.send(struct.pack("!H", 1000), OP_CLOSE)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def fileno(self) -> int:
        return self.sock.fileno()

    # -- receiving ---------------------------------------------------------------------------------------
    def _fill_nowait(self) -> bool:
        """Reads what the kernel has for us without blocking; False if nothing was there."""
        try:
            chunk = self.sock.recv(RECV_CHUNK, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        if not chunk:
            raise WSClosed(None, "connection closed by peer")
        if self._pos and self._pos >= len(self._buf) // 2:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += chunk
        return True

    def _parse_frame(self):
        """One complete frame from the buffer as (fin, opcode, payload), or None."""
        buf, pos = self._buf, self._pos
        avail = len(buf) - pos
        if avail < 2:
            return None
        b0, b1 = buf[pos], buf[pos + 1]
        n = b1 & 0x7F
        hdr = 2
        if n == 126:
            if avail < 4:
                return None
            n = struct.unpack_from("!H", buf, pos + 2)[0]
            hdr = 4
        elif n == 127:
            if avail < 10:
                return None
            n = struct.unpack_from("!Q", buf, pos + 2)[0]
            hdr = 10
        if b1 & 0x80:
            raise WSClosed(None, "server sent a masked frame")
        if avail < hdr + n:
            return None
        start = pos + hdr
        payload = bytes(buf[start:start + n])
        self._pos = start + n
        return (b0 & 0x80) != 0, b0 & 0x0F, payload

    def next_message(self):
        """A complete data message as (opcode, payload) if one can be had without blocking, else None.

        Pings are answered, pongs ignored, a close frame raises WSClosed.
        """
        while True:
            frame = self._parse_frame()
            if frame is None:
                if not self._fill_nowait():
                    return None
                continue
            fin, op, payload = frame
            if op == OP_PING:
                self.send(payload, OP_PONG)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = True
                raise WSClosed(code, payload[2:].decode("utf-8", "replace"))
            if op == OP_CONT:
                self._fragments.append(payload)
                if fin:
                    data = b"".join(self._fragments)
                    self._fragments = []
                    return self._fragment_op, data
                continue
            if not fin:
                self._fragment_op = op
                self._fragments = [payload]
                continue
            return op, payload

    def wait_readable(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return bool(readable)

    def recv(self, timeout: float):
        """Blocks up to `timeout` seconds for a data message; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.next_message()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.wait_readable(remaining):
                raise TimeoutError("no WebSocket message within %.1f s" % timeout)
