"""Bad input on the channels WebSocket never crashes the gateway or disturbs other kernels.

Gateway: ``gw_robust`` (--max-message-size 1 MiB, --client-queue-size 64). A *bystander* kernel with its
own open socket runs for the whole module; after every case it must still answer an execute, and the
gateway process must still be alive. Each frame case uses a fresh socket on a shared *victim* kernel and
then checks that the victim kernel still answers through yet another fresh socket.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import time
import uuid

import pytest
import websocket

from helpers import KernelWS, RssSampler, WSClosed, encode_legacy_binary, encode_v1, make_header, parent_id, wait_until
from procs import IMPL

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bystander(gw_robust, module_kernels) -> KernelWS:
    model = module_kernels.start(gw_robust, "python3")
    ws = module_kernels.ws(gw_robust, model["id"], "legacy")
    ws.kernel_info(timeout=60)
    return ws


@pytest.fixture(scope="module")
def victim(gw_robust, module_kernels) -> dict:
    return module_kernels.start(gw_robust, "python3_ipykernel6")


def assert_healthy(gw, bystander, victim=None, kernels=None):
    assert gw.alive(), f"gateway died:\n{gw.log_tail()}"
    n = random.randrange(10**9)
    assert bystander.execute_ok(f"print({n})", timeout=30) == f"{n}\n"
    if victim is not None:
        ws = kernels.ws(gw, victim["id"], "legacy")
        assert ws.execute_ok(f"print({n} + 1)", timeout=30) == f"{n + 1}\n"
        ws.close()


def closed_or_ignored(ws: KernelWS, timeout: float = 15) -> str:
    """After a bad frame the server either closes the socket or ignores the frame and keeps answering."""
    try:
        header = ws.send_msg("shell", "kernel_info_request", {})
    except (websocket.WebSocketException, OSError):
        return "closed"
    try:
        ws.wait_for(lambda m: parent_id(m) == header["msg_id"] and m["msg_type"] == "kernel_info_reply",
                    timeout, what="kernel_info_reply after a bad frame (neither closed nor answered)")
        return "ignored"
    except WSClosed:
        return "closed"


def valid_msg(channel="shell", msg_type="kernel_info_request", session="s") -> dict:
    return {"header": make_header(msg_type, session), "parent_header": {}, "metadata": {}, "content": {},
            "channel": channel}


def v1_parts(msg_type="kernel_info_request", content=None) -> list[bytes]:
    return [json.dumps(make_header(msg_type, "s")).encode(), b"{}", b"{}", json.dumps(content or {}).encode()]


def v1_raw(count: int, offsets: list[int], tail: bytes) -> bytes:
    return struct.pack("<Q", count) + b"".join(struct.pack("<Q", o) for o in offsets) + tail


LEGACY_TEXT_CASES = {
    "garbage": "this is not json {",
    "empty": "",
    "truncated": '{"header": {"msg_type": "execute_request"',
    "list": "[1, 2, 3]",
    "null": "null",
    "string": '"shell"',
    "number": "1e999999",
    "header_not_object": json.dumps({"header": 5, "channel": "shell", "content": {}}),
    "no_header": json.dumps({"channel": "shell", "content": {}}),
    "header_without_msg_type": json.dumps({"header": {"msg_id": "x"}, "channel": "shell", "parent_header": {},
                                           "metadata": {}, "content": {}}),
    "content_not_object": json.dumps({**valid_msg(msg_type="execute_request"), "content": "print(1)"}),
    "channel_not_string": json.dumps({**valid_msg(), "channel": ["shell"]}),
    "unknown_channel": json.dumps(valid_msg(channel="bogus")),
    "hb_channel": json.dumps(valid_msg(channel="hb")),
    "iopub_channel": json.dumps(valid_msg(channel="iopub")),
    "deeply_nested": "[" * 200_000 + "]" * 200_000,
    "deeply_nested_object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "huge_number": json.dumps(valid_msg())[:-1] + ', "x": ' + "9" * 100_000 + "}",
    "lone_surrogate": json.dumps(valid_msg())[:-1] + ', "x": "\\ud800"}',
}


@pytest.mark.parametrize("case", sorted(LEGACY_TEXT_CASES))
def test_bad_text_frame(gw_robust, bystander, victim, kernels, case):
    ws = kernels.ws(gw_robust, victim["id"], "legacy")
    ws.send_raw_text(LEGACY_TEXT_CASES[case])
    closed_or_ignored(ws)
    assert_healthy(gw_robust, bystander, victim, kernels)


def test_invalid_utf8_text_frame(gw_robust, bystander, victim, kernels):
    ws = kernels.ws(gw_robust, victim["id"], "legacy")
    ws.ws.send(b'{"header": "\xff\xfe"}', opcode=websocket.ABNF.OPCODE_TEXT)
    closed_or_ignored(ws)
    assert_healthy(gw_robust, bystander, victim, kernels)


def _v1_cases() -> dict[str, bytes]:
    good = encode_v1("shell", v1_parts())
    return {
        "random_bytes": os.urandom(100),
        "too_short": b"\x01\x02\x03",
        "2**40_offsets_in_70_bytes": struct.pack("<Q", 2**40) + os.urandom(62),
        "2**64-1_offsets": struct.pack("<Q", 2**64 - 1) + os.urandom(62),
        "zero_offsets": struct.pack("<Q", 0) + os.urandom(40),
        "one_offset": v1_raw(1, [16], b"shell"),
        "offsets_out_of_range": v1_raw(6, [56, 61, 10**12, 10**12 + 5, 10**12 + 7, 10**12 + 9], b"shell{}{}{}{}"),
        "offset_past_end_by_one": good[:-1],
        "offsets_decreasing": v1_raw(6, [56, 61, 59, 70, 72, 74], b"shell" + b"{}" * 8),
        "first_offset_inside_table": v1_raw(6, [8, 61, 63, 65, 67, 69], b"shell" + b"{}" * 4),
        "huge_offsets_wrapping": v1_raw(6, [56, 2**64 - 1, 3, 4, 5, 6], b"shell" + b"{}" * 4),
        "bad_utf8_channel": encode_v1("shell", v1_parts())[:56] + b"\xff\xfe\xfd\xfc\xfb" + good[61:],
        "header_not_json": encode_v1("shell", [b"not json", b"{}", b"{}", b"{}"]),
        "header_is_list": encode_v1("shell", [b"[1,2]", b"{}", b"{}", b"{}"]),
        "only_two_parts": encode_v1("shell", [json.dumps(make_header("kernel_info_request", "s")).encode(), b"{}"]),
        "no_parts": encode_v1("shell", []),
        "unknown_channel": encode_v1("bogus", v1_parts()),
        "hb_channel": encode_v1("hb", v1_parts()),
        "empty_channel": encode_v1("", v1_parts()),
        "execute_with_content_list": encode_v1("shell", v1_parts("execute_request", None)[:3] + [b"[1]"]),
    }


V1_CASES = _v1_cases()


# Frames that make Enterprise Gateway allocate without bound (its decoders trust the counts): running
# them against EG eats all memory of the machine, so they are skipped there.
EG_UNSAFE = {"2**40_offsets_in_70_bytes", "2**64-1_offsets", "huge_buffer_count", "random_bytes"}


def skip_if_unsafe_for_eg(case):
    if IMPL == "eg" and case in EG_UNSAFE:
        pytest.skip("Enterprise Gateway allocates without bound on this frame")


@pytest.mark.parametrize("case", sorted(V1_CASES))
def test_bad_v1_frame(gw_robust, bystander, victim, kernels, case):
    skip_if_unsafe_for_eg(case)
    ws = kernels.ws(gw_robust, victim["id"], "v1")
    assert ws.protocol == "v1"
    ws.send_raw_binary(V1_CASES[case])
    closed_or_ignored(ws)
    assert_healthy(gw_robust, bystander, victim, kernels)


LEGACY_BINARY_CASES = {
    "random_bytes": os.urandom(100),
    "too_short": b"\x00\x01",
    "huge_buffer_count": struct.pack("!I", 2**31) + os.urandom(60),
    "max_buffer_count": struct.pack("!I", 2**32 - 1) + os.urandom(60),
    "zero_buffers": struct.pack("!I", 0),
    "offsets_out_of_range": struct.pack("!III", 2, 12, 10**9) + b"{}",
    "json_part_garbage": struct.pack("!III", 2, 12, 16) + b"nope" + b"\x00\x01",
    "valid_but_unknown_channel": encode_legacy_binary({**valid_msg(channel="bogus"), "buffers": [b"\x00"]}),
}


@pytest.mark.parametrize("case", sorted(LEGACY_BINARY_CASES))
def test_bad_legacy_binary_frame(gw_robust, bystander, victim, kernels, case):
    skip_if_unsafe_for_eg(case)
    ws = kernels.ws(gw_robust, victim["id"], "legacy")
    ws.send_raw_binary(LEGACY_BINARY_CASES[case])
    closed_or_ignored(ws)
    assert_healthy(gw_robust, bystander, victim, kernels)


def test_missing_channel_defaults_to_shell(gw_robust, victim, kernels):
    ws = kernels.ws(gw_robust, victim["id"], "legacy")
    msg = valid_msg()
    del msg["channel"]
    ws.send_raw_text(json.dumps(msg))
    reply = ws.wait_for(lambda m: parent_id(m) == msg["header"]["msg_id"] and m["msg_type"] == "kernel_info_reply",
                        15, what="kernel_info_reply")
    assert reply["channel"] == "shell"
    assert reply["content"]["status"] == "ok"


def test_eg_itest_client_message_shape(gw_robust, victim, kernels):
    """EG's itest client: empty session, no date, version 5.0, and "buffers": {} (an object)."""
    ws = kernels.ws(gw_robust, victim["id"], "legacy")
    msg_id = uuid.uuid4().hex
    ws.send_raw_text(json.dumps({
        "header": {"username": "", "version": "5.0", "session": "", "msg_id": msg_id, "msg_type": "execute_request"},
        "parent_header": {}, "channel": "shell",
        "content": {"code": "print('eg client')", "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False},
        "metadata": {}, "buffers": {}}))
    res = ws.collect(msg_id, timeout=30)
    assert res.stdout == "eg client\n"


# --------------------------------------------------------------------------------------------
# size limits, floods, churn
# --------------------------------------------------------------------------------------------


@pytest.mark.ej_only  # EG has no message size option (tornado's default limit is 10 MiB)
@pytest.mark.parametrize("kind", ["legacy_text", "v1_binary", "legacy_fragmented"])
def test_oversized_message_closes_connection(gw_robust, bystander, victim, kernels, kind):
    ws = kernels.ws(gw_robust, victim["id"], "v1" if kind == "v1_binary" else "legacy")
    code = "#" + "x" * (2 * MiB) + "\nprint('should not run')"
    try:
        if kind == "legacy_text":
            msg = valid_msg(msg_type="execute_request")
            msg["content"] = {"code": code, "silent": False}
            ws.send_raw_text(json.dumps(msg))
        elif kind == "v1_binary":
            ws.send_raw_binary(encode_v1("shell", v1_parts("execute_request", {"code": code, "silent": False})))
        else:  # a valid 2 MiB JSON message in 512 KiB continuation frames: each frame is small, the message is not
            msg = valid_msg(msg_type="execute_request")
            msg["content"] = {"code": code, "silent": False}
            data = json.dumps(msg).encode()
            chunks = [data[i:i + MiB // 2] for i in range(0, len(data), MiB // 2)]
            for i, chunk in enumerate(chunks):
                opcode = websocket.ABNF.OPCODE_TEXT if i == 0 else websocket.ABNF.OPCODE_CONT
                ws.ws.send_frame(websocket.ABNF.create_frame(chunk, opcode, fin=int(i == len(chunks) - 1)))
    except (websocket.WebSocketException, OSError) as e:
        send_error = e  # the server may cut us off while we are still sending
    else:
        send_error = None
    try:
        closed = ws.wait_closed(15)
    except AssertionError as e:
        raise AssertionError(f"{e}; sending ended with {send_error!r}; received meanwhile: "
                             f"{[m.get('msg_type') for m in ws.inbox][:20]}") from None
    assert closed is not None
    if kind == "legacy_fragmented":  # a message over the limit, in frames each under it: closed with 1009
        assert closed.code == 1009, closed
    assert_healthy(gw_robust, bystander, victim, kernels)


@pytest.mark.ej_only  # EG queues everything for a slow reader (unbounded)
def test_slow_reader_memory_bounded(gw_robust, bystander, kernels, tmp_path):
    """A client that never reads while its kernel prints 160 MiB must not blow up the gateway: its queue is
    bounded (the gateway may drop messages for it or close it) and other kernels keep being served."""
    model = kernels.start(gw_robust, "python3")
    slow = kernels.ws(gw_robust, model["id"], "legacy")
    slow.kernel_info()
    slow.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    total, chunk = 160 * MiB, 64 * 1024
    done = tmp_path / "flood-done"
    code = (f"import sys\nchunk = 'x' * {chunk - 1} + '\\n'\n"
            f"for _ in range({total // chunk}):\n    sys.stdout.write(chunk)\n    sys.stdout.flush()\n"
            f"open({str(done)!r}, 'w').write('done')\n")
    with RssSampler(gw_robust.pid) as rss:
        baseline = rss.peak
        slow.send_execute(code)  # ...and never reads again
        wait_until(done.exists, 120, interval=0.2, what="the kernel to finish printing")
        assert_healthy(gw_robust, bystander)  # served meanwhile
        time.sleep(1)  # let the gateway drain what the kernel sent last
    growth = rss.peak - baseline
    assert growth < 64 * MiB, f"gateway RSS grew by {growth / MiB:.0f} MiB for a slow reader (output {total // MiB} MiB)"
    assert_healthy(gw_robust, bystander)
    slow.abandon()


def test_connection_churn_no_fd_leak(gw_robust, bystander, victim, kernels):
    def fds():
        return len(os.listdir(f"/proc/{gw_robust.pid}/fd"))

    for _ in range(5):  # warm up (lazily created sockets, thread pools)
        KernelWS(gw_robust.ws_url(victim["id"]), "legacy").close()
    wait_until(lambda: gw_robust.rest.kernel(victim["id"]).json()["connections"] == 0, 15, what="connections == 0")
    before = fds()
    for i in range(60):
        ws = KernelWS(gw_robust.ws_url(victim["id"]), "v1" if i % 2 else "legacy")
        if i % 3 == 0:
            ws.kernel_info()
        if i % 4 == 0:
            ws.abandon()
        else:
            ws.close()
    wait_until(lambda: gw_robust.rest.kernel(victim["id"]).json()["connections"] == 0, 15, what="connections == 0")
    wait_until(lambda: fds() <= before + 10, 15, what=f"gateway fd count back near {before}")
    assert_healthy(gw_robust, bystander, victim, kernels)


def test_ws_upgrade_with_garbage_session_id(gw_robust, bystander, victim, kernels):
    for sid in ("%00%01", "x" * 5000, "%E2%98%83", "a%20b", ""):
        try:
            ws = KernelWS(gw_robust.ws_url(victim["id"]) + f"?session_id={sid}", "legacy")
        except (websocket.WebSocketException, OSError):
            continue  # refusing the upgrade is fine
        closed_or_ignored(ws)
        ws.close()
    assert_healthy(gw_robust, bystander, victim, kernels)


@pytest.mark.skipif(IMPL == "eg", reason="EG has no probe endpoints")
def test_gateway_still_ready(gw_robust):
    import requests

    assert requests.get(f"{gw_robust.http_url}/readyz", timeout=10).status_code == 200
