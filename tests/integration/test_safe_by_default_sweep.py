"""The bad-input sweep (issue 13, "no input crashes or exhausts the gateway"; review finding 3 and its kin): every
route with every method and hostile ids, bodies and content types; malformed HTTP itself; every WebSocket frame
type. Not one answer may be a 5xx, and the gateway must be alive and serving afterwards (and, for the WebSocket,
the kernel must still answer through a fresh socket after every case).

The single-case suites (test_rest.py, test_ws_robustness.py) check the exact answer to each bad input; this one
checks the whole surface at once. Its WebSocket payload cases are test_ws_robustness.py's own.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import time
import uuid

import pytest
import websocket

from helpers import KernelWS, encode_legacy_binary, encode_v1, make_header, raw_http
from procs import IMPL
from test_ws_robustness import LEGACY_BINARY_CASES, LEGACY_TEXT_CASES, V1_CASES, closed_or_ignored, v1_parts, valid_msg

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="the whole-surface sweep of issue 13")

MiB = 1024 * 1024
TOKEN = "sweep-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def _sweep_gateway(module_gateways, echo_kernelspecs_dir, root_dir):
    def start():
        gw = module_gateways("sweep", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir, auth_token=TOKEN,
                             default_kernel="echo", max_body_size=64 * 1024, max_message_size=MiB,
                             extra_args=["--max-kernels", "12"])
        # a kernel every request may name (never deleted by the sweep), and a session on a kernel of its own
        kid = gw.rest.start_kernel("echo")["id"]
        other = gw.rest.start_kernel("echo")["id"]
        r = gw.rest.post("api/sessions", json={"path": "sweep.ipynb", "type": "notebook", "kernel": {"id": other}})
        assert r.status_code == 201, r.text
        return gw, {"kernel": kid, "session": r.json()["id"]}
    return {"start": start, "current": start()}


@pytest.fixture
def gw_sweep(_sweep_gateway):
    """Shared by the module's tests; a new one if an earlier test killed it (each test then fails on its own)."""
    if not _sweep_gateway["current"][0].alive():
        _sweep_gateway["current"] = _sweep_gateway["start"]()
    return _sweep_gateway["current"][0]


@pytest.fixture
def live(gw_sweep, _sweep_gateway) -> dict:
    return _sweep_gateway["current"][1]


def healthy(gw, kernel_id: str):
    assert gw.alive(), f"gateway died:\n{gw.log_tail()}"
    assert gw.rest.get("api/kernelspecs", timeout=10).status_code == 200
    ws = KernelWS(gw.ws_url(kernel_id), "legacy", token=TOKEN, timeout=15)
    try:
        assert ws.kernel_info(timeout=15)["content"]["status"] == "ok"
    finally:
        ws.close()


def delete_extra_kernels(gw, keep: set[str]):
    for k in gw.rest.get("api/kernels", timeout=30).json():
        if k["id"] not in keep:
            gw.rest.delete(f"api/kernels/{k['id']}", timeout=30)


# --------------------------------------------------------------------------------------------
# HTTP: routes × methods × ids, and the body routes × bodies × content types
# --------------------------------------------------------------------------------------------

ROUTES = ["/api", "/api/kernels", "/api/kernels/{kid}", "/api/kernels/{kid}/interrupt", "/api/kernels/{kid}/restart",
          "/api/kernelspecs", "/api/kernelspecs/{name}", "/kernelspecs/{name}/{file}", "/api/sessions",
          "/api/sessions/{sid}", "/api/kernels/{kid}/channels", "/healthz", "/readyz"]
# (methods the HTTP parser does not know, e.g. BREW or lowercase get, are in RAW_REQUESTS: the connection is dropped)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
# 501 Not Implemented is HTTP's own answer to a method a server does not recognise (RFC 9110 §15.6.2): not a fault
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
BAD_IDS = [str(uuid.uuid4()), "garbage", "%00", "..%2f..%2fetc%2fpasswd", "a" * 5000, "%ff%fe", "%E2%80%A8", "-1",
           "1e999", "%7B%7Bkernel_id%7D%7D", "00000000-0000-0000-0000-000000000000%00", "%20"]
BAD_NAMES = ["echo", "..", "%2e%2e", "..%2fecho", "x" * 5000, "%00", "ECHO", "echo%0a"]
BAD_FILES = ["logo-64x64.png", "kernel.json", "..%2fkernel.json", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%00", "x" * 5000, "."]
QUERIES = ["", "?user=%00", "?token=x&token=y", "?" + "a=b&" * 2000, "?user=" + "u" * 5000, "?%zz"]

BODIES: dict[str, bytes | None] = {
    "none": None,
    "empty": b"",
    "bad_json": b"{bad",
    "trailing_comma": b'{"name":"echo",}',
    "deep_array": b"[" * 100_000 + b"]" * 100_000,
    "deep_object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "huge_number": b'{"name": 1e999999}',
    "huge_int": b'{"restart": ' + b"9" * 50_000 + b"}",
    "null": b"null",
    "string": b'"echo"',
    "number": b"0",
    "array": b'["echo"]',
    "wrong_types": b'{"name": 5, "env": [], "path": {"a": 1}, "kernel": "echo", "type": 7}',
    "env_wrong_values": b'{"name": "echo", "env": {"KERNEL_X": 5, "KERNEL_Y": null, "KERNEL_Z": {"a": []}}}',
    "env_hostile_numbers": json.dumps({"name": "echo", "env": {"KERNEL_LAUNCH_TIMEOUT": "1e308", "KERNEL_CPUS": "inf",
                                                                "KERNEL_MEMORY": "-1", "KERNEL_UID": "99999999999999999999"}}).encode(),
    "kernel_id_wrong": b'{"path": "p.ipynb", "type": "notebook", "kernel": {"id": 5, "name": ["echo"]}}',
    "bad_utf8": b'{"name": "ech\xff\xfe"}',
    "lone_surrogate": b'{"name": "\xed\xa0\x80"}',
    "utf16": '{"name": "echo"}'.encode("utf-16"),
    "bom": b'\xef\xbb\xbf{"name": "echo"}',
    "nul": b'{"name": "echo\x00"}',
    "over_limit": b'{"pad": "' + b"x" * (70 * 1024) + b'"}',
    "dup_keys": b'{"name": "echo", "name": "nope", "env": {}, "env": 5}',
}
CONTENT_TYPES = [None, "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/json; charset=utf-16", "application/json;;;=", "application/json" + ", application/json" * 200]
# (header values with control characters are HTTP parse errors: they are in RAW_REQUESTS)
BODY_ROUTES = [("POST", "/api/kernels"), ("POST", "/api/sessions"), ("PATCH", "/api/sessions/{sid}"),
               ("POST", "/api/kernels/{kid}/interrupt")]


def fill(template: str, kid: str, sid: str, name: str = "echo", file: str = "logo-64x64.png") -> str:
    return template.replace("{kid}", kid).replace("{sid}", sid).replace("{name}", name).replace("{file}", file)


def test_finding03_sweep_every_route_method_and_body_no_5xx(gw_sweep, live):
    auth = {"Authorization": f"token {TOKEN}", "Host": f"127.0.0.1:{gw_sweep.port}"}
    failures: list[str] = []
    count = 0

    def send(method, path, headers=None, body=None, label=""):
        nonlocal count
        count += 1
        try:
            status, _, data = raw_http(gw_sweep.host, gw_sweep.port, method, path, headers={**auth, **(headers or {})},
                                       body=body, timeout=15)
        except (ConnectionError, OSError) as exc:  # http.client raises on a dropped connection
            if not gw_sweep.alive():
                failures.append(f"{method} {path[:120]} {label}: the gateway died ({exc!r})")
                raise AssertionError("\n".join(failures)) from None
            return
        if status >= 500 and not (status == 501 and method not in KNOWN_METHODS):
            failures.append(f"{method} {path[:120]} {label}: {status} {data[:200]!r}")

    # every route × method × id (the live kernel is never deleted here: DELETE gets the bad ids only)
    for template in ROUTES:
        ids = [live["kernel"]] + BAD_IDS if "{kid}" in template else [live["session"]] + BAD_IDS if "{sid}" in template else [None]
        for method in METHODS:
            for one in ids:
                if method == "DELETE" and one in (live["kernel"], live["session"]):
                    continue
                if "{name}" in template:
                    for name in BAD_NAMES:
                        for file in (BAD_FILES if "{file}" in template else ["-"]):
                            send(method, fill(template, "-", "-", name, file))
                else:
                    send(method, fill(template, one or "-", one or "-"))
    # queries, no token, a wrong token, a foreign origin, on a few routes
    for q in QUERIES:
        for path in ("/api/kernels", f"/api/kernels/{live['kernel']}", "/api/kernelspecs", "/api/sessions"):
            send("GET", path + q)
    for headers in ({"Authorization": ""}, {"Authorization": "token " + "x" * 10000}, {"Authorization": "Bearer"},
                    {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Host": "evil.example"}, {"Host": "[::1"}):
        for method, path in (("GET", "/api/kernels"), ("POST", "/api/kernels"), ("DELETE", f"/api/kernels/{uuid.uuid4()}")):
            send(method, path, headers, b"{}", label=str(headers)[:60])
    # body routes × bodies × content types (and the restart route with JSON only: each accepted one restarts)
    # (kernels the accepted bodies start are deleted after each body, so that --max-kernels never answers for the
    # handler: every body reaches the code that parses it)
    for method, template in BODY_ROUTES:
        path = fill(template, live["kernel"], live["session"])
        for label, body in BODIES.items():
            for ctype in CONTENT_TYPES:
                send(method, path, {"Content-Type": ctype} if ctype else {}, body, label=f"{label} {ctype!r}")
            if not gw_sweep.alive():
                break
            sessions = gw_sweep.rest.get("api/sessions").json()
            delete_extra_kernels(gw_sweep, {live["kernel"], *{k["kernel"]["id"] for k in sessions}})
    for label, body in BODIES.items():
        send("POST", f"/api/kernels/{live['kernel']}/restart", {"Content-Type": "application/json"}, body, label=label)

    assert not failures, f"{len(failures)} of {count} requests answered 5xx:\n" + "\n".join(failures[:40])
    assert count > 2000, count
    delete_extra_kernels(gw_sweep, {live["kernel"]})
    healthy(gw_sweep, live["kernel"])


RAW_REQUESTS = {
    "no_host": b"GET /api HTTP/1.1\r\n\r\n",
    "http10": b"GET /api HTTP/1.0\r\n\r\n",
    "http99": b"GET /api HTTP/9.9\r\nHost: h\r\n\r\n",
    "negative_length": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n{}",
    "huge_length": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
    "two_lengths": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}abc",
    "length_and_chunked": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad_chunk_size": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    "huge_chunk_size": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n",
    "unknown_encoding": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "gzip_body": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00",
    "header_without_colon": b"GET /api HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n",
    "huge_header": b"GET /api HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    "many_headers": b"GET /api HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5000)) + b"\r\n",
    "huge_path": b"GET /" + b"a/" * 50_000 + b" HTTP/1.1\r\nHost: h\r\n\r\n",
    "nul_in_path": b"GET /api/kernels/\x00 HTTP/1.1\r\nHost: h\r\n\r\n",
    "bad_percent": b"GET /api/kernels/%ZZ HTTP/1.1\r\nHost: h\r\n\r\n",
    "absolute_uri": b"GET http://evil.example/api HTTP/1.1\r\nHost: h\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "connect": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: h\r\n\r\n",
    "lf_only": b"GET /api HTTP/1.1\nHost: h\n\n",
    "obs_fold": b"GET /api HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n",
    "space_before_colon": b"GET /api HTTP/1.1\r\nHost : h\r\n\r\n",
    "binary_garbage": os.urandom(512) + b"\r\n\r\n",
    "tls_hello_on_plain": bytes.fromhex("16030100a5010000a103030000000000000000000000000000000000000000000000000000000000000000") + b"\r\n\r\n",
    "pipelined": b"GET /api HTTP/1.1\r\nHost: h\r\n\r\n" * 50,
    "upgrade_h2c": b"GET /api HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    "h2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "lowercase_method": b"get /api HTTP/1.1\r\nHost: h\r\n\r\n",
    "unknown_method": b"BREW /api/kernels HTTP/1.1\r\nHost: h\r\n\r\n",
    "control_char_in_origin": b"GET /api/kernels HTTP/1.1\r\nHost: h\r\nOrigin: \x01\r\n\r\n",
    "control_char_in_content_type": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nContent-Type: \x7f\x01\r\nContent-Length: 2\r\n\r\n{}",
    "control_char_host": b"GET /api HTTP/1.1\r\nHost: \x7f\r\n\r\n",
    "expect_100": b"POST /api/kernels HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n",
}


def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes; return what comes back until the peer closes or stays silent (3 s at first, then 0.3 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        s.settimeout(3)
        try:
            while len(got) < 1_000_000:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                s.settimeout(0.3)
        except (socket.timeout, ConnectionResetError):
            pass
        return got


def test_finding03_sweep_malformed_http_no_5xx(gw_sweep, live):
    from concurrent.futures import ThreadPoolExecutor

    auth = f"Host: 127.0.0.1:{gw_sweep.port}\r\nAuthorization: token {TOKEN}\r\n".encode()
    with ThreadPoolExecutor(8) as pool:
        answers = dict(zip(RAW_REQUESTS, pool.map(lambda d: exchange(gw_sweep.port, d.replace(b"Host: h\r\n", auth)),
                                                  RAW_REQUESTS.values())))
    failures = [f"{label}: {line!r}" for label, got in answers.items() for line in got.split(b"\r\n")
                if line.startswith(b"HTTP/1.") and len(line) >= 12 and line[9:10] == b"5"]
    assert gw_sweep.alive(), f"the gateway died:\n{gw_sweep.log_tail()}"
    assert not failures, failures
    # (dropping a request it cannot parse is the server's right; but the well-formed ones must have been answered)
    for label in ("http10", "pipelined", "asterisk"):
        assert answers[label].startswith(b"HTTP/1."), f"{label}: no HTTP answer: {answers[label][:200]!r}"
    healthy(gw_sweep, live["kernel"])


# --------------------------------------------------------------------------------------------
# WebSocket: every frame type
# --------------------------------------------------------------------------------------------


def raw_frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, masked: bool = True,
              length_override: int | None = None) -> bytes:
    """One WebSocket frame, encoded by hand (so that it can be wrong in every way a library would refuse)."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload) if length_override is None else length_override
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    if not payload:
        return head + key
    mask = (key * (len(payload) // 4 + 1))[:len(payload)]
    return head + key + (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(payload), "big")


def exec_json() -> bytes:
    msg = valid_msg(msg_type="execute_request")
    msg["content"] = {"code": "1", "silent": False}
    return json.dumps(msg).encode()


FRAME_CASES: dict[str, tuple[str, list[bytes]]] = {
    "ping": ("legacy", [raw_frame(0x9, b"ping?")]),
    "ping_125": ("legacy", [raw_frame(0x9, b"p" * 125)]),
    "ping_too_long": ("legacy", [raw_frame(0x9, b"p" * 200)]),
    "unsolicited_pong": ("legacy", [raw_frame(0xA, b"pong")]),
    "fragmented_ping": ("legacy", [raw_frame(0x9, b"pi", fin=False)]),
    "close_bad_code": ("legacy", [raw_frame(0x8, struct.pack("!H", 999) + b"bye")]),
    "close_one_byte": ("legacy", [raw_frame(0x8, b"\x03")]),
    "close_bad_utf8_reason": ("legacy", [raw_frame(0x8, struct.pack("!H", 1000) + b"\xff\xfe")]),
    "reserved_opcode_3": ("legacy", [raw_frame(0x3, b"x")]),
    "reserved_opcode_b": ("legacy", [raw_frame(0xB, b"x")]),
    "rsv1_without_extension": ("legacy", [raw_frame(0x1, exec_json(), rsv=4)]),
    "rsv3": ("legacy", [raw_frame(0x2, b"\x00" * 8, rsv=1)]),
    "unmasked_client_frame": ("legacy", [raw_frame(0x1, exec_json(), masked=False)]),
    "continuation_without_start": ("legacy", [raw_frame(0x0, b"{}")]),
    "new_message_inside_fragmented": ("legacy", [raw_frame(0x1, b'{"hea', fin=False), raw_frame(0x1, b"der")]),
    "binary_continued_as_text": ("legacy", [raw_frame(0x2, b"\x00\x00", fin=False), raw_frame(0x0, b"\x00")]),
    "ping_between_fragments": ("legacy", [raw_frame(0x1, exec_json()[:10], fin=False), raw_frame(0x9, b"x"),
                                          raw_frame(0x0, exec_json()[10:])]),
    "split_utf8_across_fragments": ("legacy", [raw_frame(0x1, b'"\xe2\x82', fin=False), raw_frame(0x0, b'\xac"')]),
    "invalid_utf8_text": ("legacy", [raw_frame(0x1, b'{"header": "\xc0\xaf"}')]),
    "length_2_63": ("legacy", [raw_frame(0x2, b"", length_override=2 ** 63 - 1)]),
    "length_over_max_message": ("legacy", [raw_frame(0x2, b"", length_override=64 * MiB)]),
    "oversized_text": ("legacy", [raw_frame(0x1, b'{"x": "' + b"a" * (2 * MiB) + b'"}')]),
    "oversized_v1": ("v1", [raw_frame(0x2, encode_v1("shell", v1_parts("execute_request", {"code": "#" + "x" * 2 * MiB})))]),
    "many_small_fragments": ("legacy", [raw_frame(0x1, b"[", fin=False)] + [raw_frame(0x0, b"1,", fin=False)] * 3000
                             + [raw_frame(0x0, b"1]")]),
    "legacy_binary_valid_with_buffers": ("legacy", [raw_frame(0x2, encode_legacy_binary({**valid_msg(), "buffers": [b"\x00" * 100]}))]),
    "legacy_json_on_v1": ("v1", [raw_frame(0x1, json.dumps(valid_msg()).encode())]),
    "v1_on_legacy": ("legacy", [raw_frame(0x2, encode_v1("shell", v1_parts()))]),
    "empty_text": ("legacy", [raw_frame(0x1, b"")]),
    "empty_binary_v1": ("v1", [raw_frame(0x2, b"")]),
    "comm_open_bad_target": ("legacy", [raw_frame(0x1, json.dumps({**valid_msg(msg_type="comm_open"),
                                                                    "content": {"comm_id": 5, "target_name": None}}).encode())]),
    "input_reply_unsolicited": ("legacy", [raw_frame(0x1, json.dumps({**valid_msg("stdin", "input_reply"),
                                                                      "content": {"value": "x"}}).encode())]),
    "header_date_garbage": ("legacy", [raw_frame(0x1, json.dumps({**valid_msg(), "header": {
        **make_header("kernel_info_request", "s"), "date": "\x00" * 50, "version": 5}}).encode())]),
}
for _name, _payload in LEGACY_TEXT_CASES.items():
    FRAME_CASES[f"legacy_text:{_name}"] = ("legacy", [raw_frame(0x1, _payload.encode("utf-8", "surrogatepass"))])
for _name, _payload in LEGACY_BINARY_CASES.items():
    FRAME_CASES[f"legacy_binary:{_name}"] = ("legacy", [raw_frame(0x2, _payload)])
for _name, _payload in V1_CASES.items():
    FRAME_CASES[f"v1:{_name}"] = ("v1", [raw_frame(0x2, _payload)])


def test_finding03_sweep_every_websocket_frame_type(gw_sweep, live):
    kid = live["kernel"]
    outcomes: dict[str, str] = {}
    for label, (protocol, frames) in FRAME_CASES.items():
        ws = KernelWS(gw_sweep.ws_url(kid), protocol, token=TOKEN, timeout=15)
        try:
            for f in frames:
                ws.ws.sock.sendall(f)
        except (OSError, websocket.WebSocketException):
            outcomes[label] = "closed while sending"
        else:
            try:
                outcomes[label] = closed_or_ignored(ws, timeout=5)
            except AssertionError:
                outcomes[label] = "hung"  # neither closed nor answered: the socket is stuck
        finally:
            ws.abandon()
        assert gw_sweep.alive(), f"the gateway died on frame case {label}:\n{gw_sweep.log_tail()}"
        try:
            healthy(gw_sweep, kid)
        except Exception as exc:  # noqa: BLE001 - name the case that broke it
            raise AssertionError(f"after frame case {label} ({outcomes[label]}): {exc}") from exc
    # frames that are wrong at the WebSocket level must end that connection (RFC 6455 §5.2, §5.5, §7.4)
    # (an unmasked client frame is one too, RFC 6455 §5.1, but swift-nio's WebSocket decoder accepts it: harmless
    # here, as masking protects proxies from browser-made frames, and outside issue 13)
    must_close = ["reserved_opcode_3", "reserved_opcode_b", "rsv1_without_extension",
                  "continuation_without_start", "ping_too_long", "fragmented_ping", "length_2_63", "length_over_max_message",
                  "oversized_text", "oversized_v1"]
    hung = [c for c, o in outcomes.items() if o == "hung"]
    assert not hung, f"sockets left neither closed nor answering after: {hung}"
    kept = [c for c in must_close if outcomes[c] == "ignored"]
    assert not kept, f"protocol violations answered as if valid: {kept}"
    assert set(outcomes) == set(FRAME_CASES)
    healthy(gw_sweep, kid)
