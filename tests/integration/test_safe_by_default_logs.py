"""Safe by default, the gateway's log (issue 13; review findings 27 and 29).

- Client strings (``KERNEL_USERNAME``, kernelspec names, paths, WebSocket garbage) never forge a log line: no
  raw line break (LF, CR, U+2028, U+2029, U+0085) or terminal escape reaches the log; a value is either refused
  (400) or shown escaped.
- A token given as ``?token=`` (accepted, EG clients use it) or in the ``Authorization`` header never appears in
  the log, at debug level either, whether right or wrong.
- 1000 malformed WebSocket messages make at most a handful of log lines (rate-limited).
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
import websocket

from helpers import KernelWS, assert_json_error, ws_handshake_status
from procs import IMPL

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's log hygiene (issue 13)")

FORGED = "2026-12-05T00:00:00+0000 critical elastic-jupyter.gateway: FORGED"
BREAKS = {"lf": "\n", "cr": "\r", "crlf": "\r\n", "u2028": "\u2028", "u2029": "\u2029", "nel": "\u0085",
          "esc": "\x1b[2K\x1b[1G", "vt": "\x0b", "ff": "\x0c"}
# What no log line may contain raw: everything above except the LF that ends each line.
RAW_FORBIDDEN = ["\r", "\u2028", "\u2029", "\u0085", "\x1b", "\x0b", "\x0c"]


def log_text(gw, start: int = 0) -> str:
    return gw.log_path.read_bytes()[start:].decode("utf-8", "replace")


def log_size(gw) -> int:
    return gw.log_path.stat().st_size


def assert_not_forged(gw, start: int, marker: str):
    text = log_text(gw, start)
    for line in text.split("\n"):
        assert not line.startswith(FORGED[:30]) and not line.lstrip().startswith("FORGED"), \
            f"a client forged a log line: {line!r}"
    for ch in RAW_FORBIDDEN:
        assert ch not in text, f"raw {ch!r} in the log: {text[max(0, text.find(ch) - 200):text.find(ch) + 100]!r}"


@pytest.fixture(scope="module")
def gw_debug(module_gateways, echo_kernelspecs_dir, root_dir):
    """Token (through EG_AUTH_TOKEN, so that not even the harness's command-line line in the log shows it), debug
    log level: the most the gateway ever logs."""
    return module_gateways("logs-debug", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir,
                           auth_token="log-token-" + uuid.uuid4().hex, auth_token_via_env=True, log_level="debug")


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_finding27_kernel_username_cannot_forge_log_lines(gw_debug, kernels, kind):
    marker = f"user-{kind}-{uuid.uuid4().hex[:8]}"
    value = marker + BREAKS[kind] + FORGED + " " + marker
    start = log_size(gw_debug)
    r = gw_debug.rest.post("api/kernels", json={"name": "echo", "env": {"KERNEL_USERNAME": value}}, timeout=60)
    if r.status_code == 201:
        kernels.track(gw_debug.rest, r.json()["id"])
        gw_debug.rest.delete(f"api/kernels/{r.json()['id']}", timeout=30)
        time.sleep(0.2)
        assert marker in log_text(gw_debug, start), "the user of a started kernel is not in the log at all"
    else:
        assert_json_error(r, 400)
    assert_not_forged(gw_debug, start, marker)


@pytest.mark.parametrize("kind", ["lf", "u2028", "esc"])
def test_finding27_other_client_strings_cannot_forge_log_lines(gw_debug, kind):
    brk = BREAKS[kind]
    start = log_size(gw_debug)
    rest = gw_debug.rest
    rest.post("api/kernels", json={"name": "nope" + brk + FORGED}, timeout=30)
    rest.post("api/kernels", json={"name": "echo", "path": "nb" + brk + FORGED}, timeout=30)
    rest.post("api/sessions", json={"path": "s" + brk + FORGED, "type": "notebook" + brk + FORGED,
                                    "name": brk + FORGED, "kernel": {"name": "nope" + brk + FORGED}}, timeout=30)
    rest.get("api/kernels/" + requests.utils.quote("x" + brk + FORGED, safe=""), timeout=30)
    rest.get("api/kernelspecs/" + requests.utils.quote("y" + brk + FORGED, safe=""), timeout=30)
    rest.get("kernelspecs/echo/" + requests.utils.quote("z" + brk + FORGED, safe=""), timeout=30)
    rest.post("api/kernels", data=("{" + brk + FORGED).encode(), headers={"Content-Type": "application/json"}, timeout=30)
    time.sleep(0.2)
    assert_not_forged(gw_debug, start, "")
    assert gw_debug.alive()


def test_finding29_tokens_never_appear_in_the_log(gw_debug, kernels):
    token = gw_debug.config.auth_token
    wrong = "wrong-token-" + uuid.uuid4().hex
    base = f"{gw_debug.http_url}/"
    assert requests.get(base + "api/kernelspecs", params={"token": token}, timeout=30).status_code == 200
    assert requests.get(base + "api/kernelspecs", params={"token": wrong}, timeout=30).status_code == 401
    assert requests.get(base + "api/kernels/" + str(uuid.uuid4()), params={"token": token}, timeout=30).status_code == 404
    assert requests.get(base + "no/such/route", params={"token": token, "x": "1"}, timeout=30).status_code == 404
    assert requests.post(base + "api/kernels", params={"token": token}, data=b"{bad", timeout=30).status_code == 400
    assert requests.get(base + "api/kernelspecs", headers={"Authorization": f"token {wrong}"}, timeout=30).status_code == 401
    model = kernels.start(gw_debug, "echo")
    url = gw_debug.ws_url(model["id"])
    assert ws_handshake_status(url + f"?token={token}") == 101
    assert ws_handshake_status(url + f"?token={wrong}") == 401
    ws = KernelWS(url + f"?token={token}", "legacy")
    ws.kernel_info()
    ws.close()
    time.sleep(0.3)
    text = log_text(gw_debug)
    assert token not in text, f"the token is in the log: {text[max(0, text.find(token) - 200):text.find(token) + 50]!r}"
    assert wrong not in text, "a wrong token is in the log"


def test_finding27_malformed_websocket_messages_are_rate_limited_in_log(module_gateways, echo_kernelspecs_dir, root_dir,
                                                                          kernels):
    gw = module_gateways("logs-flood", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir)
    model = kernels.start(gw, "echo")
    ws = kernels.ws(gw, model["id"], "legacy")
    ws.kernel_info()
    time.sleep(0.3)
    start = log_size(gw)
    sent = 0
    try:
        for i in range(1000):
            if i % 2:
                ws.send_raw_text("not json {" + str(i))
            else:
                ws.send_raw_binary(b"\x00\x00\x00\x05garbage" + bytes([i % 256]))
            sent += 1
    except (websocket.WebSocketException, OSError):
        pass  # the gateway may cut off such a client: fine
    if sent == 1000:
        try:
            ws.kernel_info(timeout=30)  # the gateway has read them all
        except Exception:  # noqa: BLE001 - closed after the flood: also fine
            pass
    time.sleep(0.5)
    lines = [line for line in log_text(gw, start).splitlines() if line.strip()]
    assert len(lines) <= 10, f"{sent} malformed messages made {len(lines)} log lines, e.g. {lines[:3]}"
    assert sent >= 1, "nothing could be sent"
    assert gw.alive() and gw.rest.get("api/kernelspecs").status_code == 200
