"""Self-check of the test suite's own WebSocket codecs against jupyter_server's (no gateway needed)."""

from __future__ import annotations

import json

import pytest

from helpers import decode_legacy_binary, decode_v1, encode_legacy_binary, encode_v1, make_header

js_ws = pytest.importorskip("jupyter_server.services.kernels.connection.base")


def sample_parts():
    return [json.dumps(make_header("execute_request", "s")).encode(), b"{}", b'{"m": 1}', b'{"code": "1"}',
            b"\x00\x01buffer", b""]


def test_v1_matches_jupyter_server():
    parts = sample_parts()
    ours = encode_v1("shell", parts)
    assert ours == js_ws.serialize_msg_to_ws_v1(parts, "shell")
    channel, decoded = js_ws.deserialize_msg_from_ws_v1(ours)
    assert channel == "shell" and decoded == parts
    assert decode_v1(ours) == ("shell", parts)


def test_v1_decoder_rejects_bad_offsets():
    good = encode_v1("iopub", sample_parts())
    for bad in (good[:-1], b"\xff" * 70, good[:8] + b"\x00" * 8 + good[16:]):
        with pytest.raises(ValueError):
            decode_v1(bad)


def test_legacy_binary_matches_jupyter_server():
    msg = {"header": make_header("comm_msg", "s"), "parent_header": {}, "metadata": {}, "content": {"a": 1},
           "channel": "shell", "buffers": [b"\x00\x01", b"xyz"]}
    ours = encode_legacy_binary(msg)
    theirs = js_ws.deserialize_binary_message(ours)
    assert theirs["buffers"] == [b"\x00\x01", b"xyz"]
    assert theirs["content"] == {"a": 1}
    back = decode_legacy_binary(js_ws.serialize_binary_message(dict(msg)))
    assert back["buffers"] == [b"\x00\x01", b"xyz"] and back["header"] == msg["header"]
