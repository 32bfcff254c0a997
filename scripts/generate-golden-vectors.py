#!/usr/bin/env python3
"""Generate golden test vectors for the JupyterProtocol module from the installed reference implementation.

Uses jupyter_client.session.Session (wire format, HMAC signing) and the WebSocket helpers of
jupyter_server.services.kernels.connection.base (legacy binary and v1 frame layouts), plus the message
handling steps of jupyter_server's ZMQ channels connection (text path = json.loads/json.dumps).

Writes JSON files (all byte strings base64-encoded) into Tests/JupyterProtocolTests/Golden/.

Run with the project venv:  .venv/bin/python scripts/generate-golden-vectors.py
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import jupyter_client
import jupyter_server
from jupyter_client.jsonutil import extract_dates, json_default
from jupyter_client.session import DELIM, Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_binary_message,
    serialize_msg_to_ws_v1,
)

OUT_DIR = Path(__file__).resolve().parent.parent / "Tests" / "JupyterProtocolTests" / "Golden"

KEY = "a0436f6c-1916-498b-8eb9-e81ab9368e84"
DATE = "2024-01-01T12:00:00.123456Z"
SESSION_ID = "5b3c9a7e-0f1d-4c2b-9e8a-7d6c5b4a3f21"


def b64(data: bytes | memoryview) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def make_session(key: str, scheme: str = "hmac-sha256") -> Session:
    # A fresh session per use: deserialize() remembers signatures to reject replays.
    return Session(
        key=key.encode("utf-8"),
        signature_scheme=scheme,
        packer="json",
        session=SESSION_ID,
        username="golden",
        check_pid=False,
    )


def header(msg_type: str, msg_id: str, *, session: str = SESSION_ID, date: str | None = DATE,
           username: str = "golden", version: str = "5.3") -> dict:
    result = {"msg_id": msg_id, "msg_type": msg_type, "username": username, "session": session}
    if date is not None:
        result["date"] = date
    result["version"] = version
    return result


EXECUTE_REQUEST = header("execute_request", "11111111-2222-3333-4444-555555555555")

# Messages as a kernel (or client) would build them: (name, msg dict, buffers).
MESSAGES = [
    (
        "execute_request",
        {
            "header": EXECUTE_REQUEST,
            "parent_header": {},
            "metadata": {},
            "content": {
                "code": "print('hello')",
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": True,
                "stop_on_error": True,
            },
        },
        [],
    ),
    (
        "execute_reply_with_parent",
        {
            "header": header("execute_reply", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
            "parent_header": EXECUTE_REQUEST,
            "metadata": {"started": DATE, "dependencies_met": True, "engine": "e1"},
            "content": {"status": "ok", "execution_count": 7, "user_expressions": {}, "payload": []},
        },
        [],
    ),
    (
        "status_idle",
        {
            "header": header("status", "status-0001"),
            "parent_header": EXECUTE_REQUEST,
            "metadata": {},
            "content": {"execution_state": "idle"},
        },
        [],
    ),
    (
        "unicode_stream",
        {
            "header": header("stream", "unicode-0001"),
            "parent_header": EXECUTE_REQUEST,
            "metadata": {},
            "content": {
                "name": "stdout",
                "text": "h\u00e9llo w\u00f6rld \u2713 \U0001F600 \u4e2d\u6587\n\ttab \"quoted\" back\\slash \u0001 end",
            },
        },
        [],
    ),
    (
        "comm_msg_with_buffers",
        {
            "header": header("comm_msg", "comm-0001"),
            "parent_header": {},
            "metadata": {},
            "content": {"comm_id": "c0ffee", "data": {"method": "update", "buffer_paths": [["a"], ["b"], ["c"]]}},
        },
        [b"\x00\x01\x02\xff\xfe", b"", "caf\u00e9".encode("utf-8")],
    ),
    (
        "display_data_unicode_with_buffer",
        {
            "header": header("display_data", "display-0001"),
            "parent_header": EXECUTE_REQUEST,
            "metadata": {"image/png": {"width": 10}},
            "content": {"data": {"text/plain": "\u03b1\u03b2\u03b3 \U0001F680"}, "metadata": {}, "transient": {}},
        },
        [bytes(range(256))],
    ),
]

CHANNEL_FOR = {
    "execute_request": "shell",
    "execute_reply_with_parent": "shell",
    "status_idle": "iopub",
    "unicode_stream": "iopub",
    "comm_msg_with_buffers": "iopub",
    "display_data_unicode_with_buffer": "iopub",
}


def parts_json(frames_after_signature: list) -> dict:
    return {
        "header": b64(frames_after_signature[0]),
        "parent_header": b64(frames_after_signature[1]),
        "metadata": b64(frames_after_signature[2]),
        "content": b64(frames_after_signature[3]),
        "buffers": [b64(b) for b in frames_after_signature[4:]],
    }


def wire_frames(session: Session, msg: dict, buffers: list, identities: list) -> list[bytes]:
    frames = session.serialize(msg, ident=identities or None)
    frames.extend(buffers)
    return [bytes(f) for f in frames]


def check_wire(key: str, scheme: str, frames: list[bytes]) -> None:
    session = make_session(key, scheme)
    _, msg_list = session.feed_identities(frames)
    session.deserialize(msg_list)  # raises on a bad signature


def is_canonical(part: bytes) -> bool:
    """Whether a JSON part is ASCII and exactly what json.dumps would write for its value."""
    try:
        text = part.decode("ascii")
    except UnicodeDecodeError:
        return False
    return json.dumps(json.loads(text)) == text


class CaptureStream:
    """Stands in for a ZMQ socket: records what Session.send_raw would send."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_multipart(self, frames, flags=0, copy=True, track=False):
        self.sent = [bytes(f) for f in frames]


# ---------------------------------------------------------------------------------------------------------------------


def generate_wire() -> dict:
    cases = []
    variants = [
        ("", KEY, "hmac-sha256", []),
        ("_identities", KEY, "hmac-sha256", [b"5b3c9a7e-session", b"\x00\x01binary-ident"]),
        ("_empty_key", "", "hmac-sha256", []),
        ("_sha512", KEY, "hmac-sha512", []),
    ]
    for name, msg, buffers in MESSAGES:
        for suffix, key, scheme, identities in variants:
            session = make_session(key, scheme)
            frames = wire_frames(session, msg, buffers, identities)
            check_wire(key, scheme, frames)
            delim = frames.index(DELIM)
            cases.append(
                {
                    "name": name + suffix,
                    "key": b64(key.encode("utf-8")),
                    "scheme": scheme,
                    "identities": [b64(i) for i in identities],
                    "frames": [b64(f) for f in frames],
                    "signature": b64(frames[delim + 1]),
                    "parts": parts_json(frames[delim + 2 :]),
                }
            )
    return {"cases": cases}


def generate_v1() -> dict:
    cases = []
    identity = SESSION_ID.encode("ascii")
    for name, msg, buffers in MESSAGES:
        channel = CHANNEL_FOR[name]
        kernel_session = make_session(KEY)
        frames = wire_frames(kernel_session, msg, buffers, [])
        delim = frames.index(DELIM)
        msg_list = frames[delim + 2 :]
        # Gateway -> client: the parts after the signature, spliced into a v1 frame.
        frame = serialize_msg_to_ws_v1(msg_list, channel)
        # Client -> gateway: the frame split again and re-signed for the kernel with send_raw.
        got_channel, got_list = deserialize_msg_from_ws_v1(frame)
        assert got_channel == channel and [bytes(p) for p in got_list] == msg_list
        stream = CaptureStream()
        make_session(KEY).send_raw(stream, got_list, ident=identity)
        cases.append(
            {
                "name": name,
                "channel": channel,
                "key": b64(KEY.encode("utf-8")),
                "scheme": "hmac-sha256",
                "parts": parts_json(msg_list),
                "frame": b64(frame),
                "kernel_frames": [b64(f) for f in frames],
                "identities": [b64(identity)],
                "resigned_frames": [b64(f) for f in stream.sent],
            }
        )
    return {"cases": cases}


def generate_legacy() -> dict:
    server_to_client = []
    for name, msg, buffers in MESSAGES:
        channel = CHANNEL_FOR[name]
        frames = wire_frames(make_session(KEY), msg, buffers, [])
        session = make_session(KEY)
        _, msg_list = session.feed_identities(frames)
        reply = session.deserialize(msg_list)
        reply["channel"] = channel
        parts = frames[frames.index(DELIM) + 2 :]
        canonical = all(is_canonical(p) for p in parts[:4])
        entry = {
            "name": name,
            "channel": channel,
            "key": b64(KEY.encode("utf-8")),
            "scheme": "hmac-sha256",
            "kernel_frames": [b64(f) for f in frames],
            "parts": parts_json(parts),
            "canonical": canonical,
        }
        if reply["buffers"]:
            entry["kind"] = "binary"
            entry["frame"] = b64(serialize_binary_message(reply))
        else:
            entry["kind"] = "text"
            entry["text"] = json.dumps(reply, default=json_default)
        server_to_client.append(entry)

    client_to_server = []

    def add_client_case(name: str, kind: str, frame: str | bytes) -> None:
        # What jupyter_server does with the frame before handing it to Session.send.
        if kind == "text":
            client_msg = json.loads(frame)
        else:
            client_msg = deserialize_binary_message(frame)
        channel = client_msg.pop("channel", None) or "shell"
        session = make_session(KEY)
        buffers = client_msg.get("buffers") or []
        if isinstance(buffers, dict):
            buffers = []
        sent = session.serialize(client_msg) + [bytes(b) for b in buffers]
        entry = {"name": name, "kind": kind, "expected_channel": channel, "expected_parts": parts_json(sent[2:])}
        entry["text" if kind == "text" else "frame"] = frame if kind == "text" else b64(frame)
        client_to_server.append(entry)

    jlab_execute = {
        "header": header("execute_request", "f0e1d2c3b4a5", username="", session="client-session"),
        "parent_header": {},
        "metadata": {"deletedCells": [], "recordTiming": False, "cellId": "abc-123"},
        "content": {"code": "x = '\u00fc\U0001F600'\nprint(x)", "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": True, "stop_on_error": True},
        "channel": "shell",
        "buffers": [],
    }
    add_client_case("jupyterlab_execute_request", "text", json.dumps(jlab_execute))
    add_client_case("jupyterlab_execute_request_compact_unicode", "text",
                    json.dumps(jlab_execute, separators=(",", ":"), ensure_ascii=False))

    # Shape sent by the Enterprise Gateway integration-test client: no date, empty session, version 5.0,
    # buffers as an empty object, channel in the middle.
    itests = {
        "header": {"username": "", "version": "5.0", "session": "", "msg_id": "0123456789abcdef0123456789abcdef",
                   "msg_type": "execute_request"},
        "parent_header": {},
        "channel": "shell",
        "content": {"code": "print(1)", "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False},
        "metadata": {},
        "buffers": {},
    }
    add_client_case("itests_execute_request", "text", json.dumps(itests))

    no_channel = {k: v for k, v in jlab_execute.items() if k != "channel"}
    add_client_case("missing_channel_means_shell", "text", json.dumps(no_channel, indent=2))

    interrupt = {
        "header": header("interrupt_request", "interrupt-1", session="client-session"),
        "parent_header": {},
        "metadata": {},
        "content": {},
        "channel": "control",
    }
    add_client_case("control_interrupt_request", "text", json.dumps(interrupt))

    comm = {
        "header": header("comm_msg", "comm-from-client", session="client-session"),
        "parent_header": {},
        "metadata": {},
        "content": {"comm_id": "c0ffee", "data": {"method": "custom", "buffer_paths": [["x"]]}},
        "channel": "shell",
        "buffers": [b"\x10\x20\x30", b"", bytes(range(50))],
    }
    add_client_case("binary_comm_msg_with_buffers", "binary", serialize_binary_message(comm))
    comm_one = dict(comm, buffers=[])
    add_client_case("binary_without_buffers", "binary", serialize_binary_message(comm_one))

    return {"server_to_client": server_to_client, "client_to_server": client_to_server}


def write(name: str, payload: dict) -> None:
    payload = {
        "generator": "scripts/generate-golden-vectors.py",
        "jupyter_client": jupyter_client.__version__,
        "jupyter_server": jupyter_server.__version__,
        **payload,
    }
    path = OUT_DIR / name
    path.write_text(json.dumps(payload, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(OUT_DIR.parent.parent.parent)}")


def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    placeholder = OUT_DIR / "README.json"
    if placeholder.exists():
        placeholder.unlink()
    write("wire.json", generate_wire())
    write("ws_v1.json", generate_v1())
    write("ws_legacy.json", generate_legacy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
