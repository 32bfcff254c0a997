"""Safe by default, the browser's side (issue 13, review finding 1): a web page the user happens to visit must
not be able to drive the gateway.

- Headless Chromium loads a page served from another 127.0.0.1 port that tries the drive-by of the review: a
  ``no-cors`` ``text/plain`` POST choosing ``KERNEL_ID``, then a WebSocket to that kernel with an
  ``execute_request`` whose code would create a file. Against a gateway run with ``--allow-unauthenticated``
  (the worst case the origin check must still stop) and against the default configuration: the file never
  appears and no kernel is started. The same page served from an origin allowed by ``--allow-origin``, sending
  JSON with the token, does start the kernel and runs the code.
- Over plain HTTP: foreign ``Origin`` → 403 JSON (REST and the WebSocket upgrade, before the upgrade), the
  gateway's own origin and ``--allow-origin`` entries pass, a non-local ``Host`` on a loopback bind → 403 (DNS
  rebinding) unless named by ``--local-hostnames``, and browser requests with a form / text body → 415 while
  non-browser clients may send any content type.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from helpers import assert_json_error, free_port, raw_http, wait_until, ws_handshake_status
from procs import IMPL, binary_knows

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's origin policy (issue 13)")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "http://evil.example"
NO_KERNEL_SPEC = "no-such-kernelspec-for-origin-tests"  # a POST that passes every gate answers 404, cheaply

# The attacker's page. Parameters come in the query string; the outcome is left in window.result.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>page</title></head><body><script>
(async () => {
  const q = new URLSearchParams(location.search);
  const gw = q.get('gw'), kid = q.get('kid'), code = q.get('code'), token = q.get('token') || '';
  const r = window.result = {post: null, wsOpen: false, wsClose: null, wsError: false, replies: [], done: false};
  const body = JSON.stringify({env: {KERNEL_ID: kid}});
  try {
    const init = q.get('mode') === 'json'
      ? {method: 'POST', headers: {'Content-Type': 'application/json', 'Authorization': 'token ' + token}, body}
      : {method: 'POST', mode: 'no-cors', body};           // text/plain: a "simple" request, no preflight
    const resp = await fetch(gw + '/api/kernels', init);
    r.post = resp.type === 'opaque' ? 'opaque' : resp.status;
  } catch (e) { r.post = 'error: ' + e; }
  const wsUrl = gw.replace(/^http/, 'ws') + '/api/kernels/' + kid + '/channels' + (token ? '?token=' + token : '');
  let ws;
  try { ws = new WebSocket(wsUrl); } catch (e) { r.wsError = true; r.done = true; return; }
  const finish = () => { r.done = true; };
  setTimeout(finish, 15000);
  ws.onerror = () => { r.wsError = true; };
  ws.onclose = (ev) => { r.wsClose = ev.code; finish(); };
  ws.onmessage = (ev) => {
    try { const m = JSON.parse(ev.data); r.replies.push(m.header.msg_type);
          if (m.header.msg_type === 'execute_reply') { ws.close(); } } catch (e) {}
  };
  ws.onopen = () => {
    r.wsOpen = true;
    const session = 'page-' + Math.random().toString(16).slice(2);
    ws.send(JSON.stringify({
      header: {msg_id: 'm-' + Math.random().toString(16).slice(2), msg_type: 'execute_request', username: 'page',
               session, date: new Date().toISOString(), version: '5.3'},
      parent_header: {}, metadata: {}, channel: 'shell',
      content: {code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true}}));
  };
})();
</script></body></html>
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    """The attacker's web server: another 127.0.0.1 port; yields its origin (``http://127.0.0.1:<port>``)."""
    root = tmp_path_factory.mktemp("page")
    (root / "page.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()),
                                             functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "chromium / chromium-driver missing: run scripts/setup.sh"
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-extensions", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, port=free_port(), log_output=str(profile.parent / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def run_page(driver, origin: str, gw_url: str, kernel_id: str, code: str, mode: str, token: str = "") -> dict:
    """Load the page from ``origin`` against the gateway and wait (bounded) until it has done its part."""
    from urllib.parse import urlencode

    query = urlencode({"gw": gw_url, "kid": kernel_id, "code": code, "mode": mode, "token": token})
    driver.get(f"{origin}/page.html?{query}")
    return wait_until(lambda: (r := driver.execute_script("return window.result || null")) and r["done"] and r,
                      25, 0.1, what="the page to finish its requests")


def file_creating_code(target: Path) -> str:
    return f"open({str(target)!r}, 'w').write('ran')"


def assert_never_appears(target: Path, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not target.exists(), f"the page's code ran: {target} was created"
        time.sleep(0.1)
    assert not target.exists(), f"the page's code ran: {target} was created"


def kernel_ids(gw) -> set[str]:
    r = gw.rest.get("api/kernels", timeout=30)
    assert r.status_code == 200, r.text
    return {k["id"] for k in r.json()}


# --------------------------------------------------------------------------------------------
# the drive-by, in a real browser
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("configuration", ["allow_unauthenticated", "default"])
def test_finding01_drive_by_page_cannot_start_or_run(gateways, kernelspecs_dir, root_dir, chromium, page_server, tmp_path,
                                                      configuration):
    """The review's scenario, from a page on another 127.0.0.1 port: neither a kernel nor the code."""
    gw = gateways(f"driveby-{configuration}", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                  allow_unauthenticated=(configuration == "allow_unauthenticated"))
    if configuration == "default":
        assert gw.config.auth_token, "the default configuration printed no token line (it must generate one)"
    kid = str(uuid.uuid4())
    target = tmp_path / "pwned-by-page"
    try:
        result = run_page(chromium, page_server, gw.http_url, kid, file_creating_code(target), mode="no-cors")
        assert_never_appears(target)
        assert kid not in kernel_ids(gw), f"the page started kernel {kid} (page saw {result})"
        assert kernel_ids(gw) == set(), "the page started a kernel"
        assert not result["wsOpen"], f"the WebSocket from a foreign origin was upgraded: {result}"
        assert "execute_reply" not in result["replies"], result
        assert gw.alive()
    finally:
        gw.rest.delete(f"api/kernels/{kid}", timeout=30)


@pytest.mark.slow
def test_finding01_allowed_origin_page_runs_code(gateways, kernelspecs_dir, root_dir, chromium, page_server, tmp_path):
    """The same page from an origin named by --allow-origin, sending JSON and the token, is a legitimate client."""
    token = "page-token-" + uuid.uuid4().hex
    gw = gateways("allowed-page", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, auth_token=token,
                  allow_origin=page_server,
                  extra_args=["--allow-headers", "Content-Type,Authorization", "--allow-methods", "GET,POST,DELETE,OPTIONS"])
    kid = str(uuid.uuid4())
    target = tmp_path / "ran-from-allowed-page"
    try:
        result = run_page(chromium, page_server, gw.http_url, kid, file_creating_code(target), mode="json", token=token)
        wait_until(target.exists, 30, 0.1, what=f"the allowed page's code to run (page saw {result})")
        assert result["post"] == 201, result
        assert result["wsOpen"], result
        assert kid in kernel_ids(gw)
    finally:
        gw.rest.delete(f"api/kernels/{kid}", timeout=30)


# --------------------------------------------------------------------------------------------
# origins over plain HTTP
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gw_open(module_gateways, kernelspecs_dir, root_dir):
    """Open on purpose (--allow-unauthenticated) with two allowed origins: the origin checks alone protect it."""
    return module_gateways("origins", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                           allow_origin="http://allowed-a.example,https://allowed-b.example:8443",
                           # (a binary from before the flag still runs the other checks; the host-name tests fail)
                           extra_args=["--local-hostnames", "devbox.internal"] if binary_knows("--local-hostnames") else [])


def forbidden(resp: requests.Response) -> dict:
    body = assert_json_error(resp, 403)
    assert body["reason"] == "Forbidden", body
    return body


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1", "http://localhost", "https://127.0.0.1",
                                    "http://allowed-a.example.evil.example", "https://allowed-a.example"])
def test_finding01_foreign_origin_is_403(gw_open, origin):
    before = kernel_ids(gw_open)
    forbidden(gw_open.rest.get("api/kernelspecs", headers={"Origin": origin}))
    forbidden(gw_open.rest.post("api/kernels", json={"name": "python3"}, headers={"Origin": origin}))
    forbidden(gw_open.rest.post("api/sessions", json={"path": "o.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
                                headers={"Origin": origin}))
    assert kernel_ids(gw_open) == before, "a foreign origin started a kernel"


def test_finding01_own_and_allowed_origins_pass(gw_open):
    own = f"http://127.0.0.1:{gw_open.port}"
    for origin in (own, f"http://localhost:{gw_open.port}", "http://allowed-a.example", "https://allowed-b.example:8443"):
        host = origin.split("://", 1)[1] if origin.startswith("http://localhost") else f"127.0.0.1:{gw_open.port}"
        r = gw_open.rest.get("api/kernelspecs", headers={"Origin": origin, "Host": host})
        assert r.status_code == 200, f"Origin {origin} (Host {host}): {r.status_code} {r.text[:300]}"
        r = gw_open.rest.post("api/kernels", json={"name": NO_KERNEL_SPEC}, headers={"Origin": origin, "Host": host})
        assert_json_error(r, 404)  # past the origin and content-type gates
    # no Origin at all (jupyter_server, curl, EG's test clients): unaffected
    assert gw_open.rest.get("api/kernelspecs").status_code == 200


def test_finding01_allow_origin_star_allows_any_origin(gateways, kernelspecs_dir, root_dir):
    gw = gateways("origin-star", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, allow_origin="*")
    for origin in (EVIL, "http://anything.example:1234"):
        assert gw.rest.get("api/kernelspecs", headers={"Origin": origin}).status_code == 200


def test_finding01_websocket_foreign_origin_refused_before_upgrade(gw_open, kernels):
    model = kernels.start(gw_open, "python3")
    url = gw_open.ws_url(model["id"])
    for origin in (EVIL, "null", "http://127.0.0.1:1"):
        assert ws_handshake_status(url, origin=origin) == 403, origin
    # the raw answer: a JSON 403, not a 101 followed by a close
    status, headers, body = raw_http(gw_open.host, gw_open.port, "GET", f"/api/kernels/{model['id']}/channels", headers={
        "Host": f"127.0.0.1:{gw_open.port}", "Upgrade": "websocket", "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13", "Origin": EVIL}, timeout=10)
    assert status == 403 and json.loads(body)["reason"] == "Forbidden", (status, body[:300])
    assert gw_open.rest.kernel(model["id"]).json()["connections"] == 0
    # own and allowed origins (and no origin) still connect
    for origin in (f"http://127.0.0.1:{gw_open.port}", "http://allowed-a.example"):
        assert ws_handshake_status(url, origin=origin) == 101, origin
    assert ws_handshake_status(url, suppress_origin=True) == 101


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
                                  "localhost.evil.example", "10.0.0.1:{port}", "0.0.0.0:{port}", "[::2]:{port}"])
def test_finding01_dns_rebinding_host_is_403(gw_open, host):
    host = host.format(port=gw_open.port)
    status, _, body = raw_http(gw_open.host, gw_open.port, "GET", "/api/kernelspecs", headers={"Host": host}, timeout=10)
    assert status == 403, f"Host {host!r}: {status} {body[:200]!r}"
    status, _, body = raw_http(gw_open.host, gw_open.port, "POST", "/api/kernels", headers={
        "Host": host, "Content-Type": "application/json"}, body=json.dumps({"name": "python3"}).encode(), timeout=30)
    assert status == 403, f"Host {host!r}: {status} {body[:200]!r}"


@pytest.mark.parametrize("host", ["localhost:{port}", "localhost", "127.0.0.1:{port}", "[::1]:{port}", "[::1]",
                                  "devbox.internal:{port}", "devbox.internal"])
def test_finding01_local_host_names_pass(gw_open, host):
    host = host.format(port=gw_open.port)
    status, _, body = raw_http(gw_open.host, gw_open.port, "GET", "/api/kernelspecs", headers={"Host": host}, timeout=10)
    assert status == 200, f"Host {host!r}: {status} {body[:200]!r}"


def test_finding01_local_hostnames_from_environment(gateways, kernelspecs_dir, root_dir):
    gw = gateways("local-hostnames-env", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                  env={"EJ_LOCAL_HOSTNAMES": "workstation.lan,other.lan"})
    for host, expected in (("workstation.lan", 200), ("other.lan:80", 200), ("third.lan", 403)):
        status, _, _ = raw_http(gw.host, gw.port, "GET", "/api/kernelspecs", headers={"Host": host}, timeout=10)
        assert status == expected, (host, status)


BROWSER_BODY_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                      "multipart/form-data; boundary=xyz", None]


@pytest.mark.parametrize("content_type", BROWSER_BODY_TYPES)
@pytest.mark.parametrize("marker", ["own-origin", "allowed-origin", "sec-fetch-only"])
def test_finding01_browser_form_and_text_bodies_are_415(gw_open, content_type, marker):
    """A browser sends these without a CORS preflight; the gateway refuses them even from an allowed origin."""
    headers = {"Host": f"127.0.0.1:{gw_open.port}"}
    if marker == "own-origin":
        headers["Origin"] = f"http://127.0.0.1:{gw_open.port}"
    elif marker == "allowed-origin":
        headers["Origin"] = "http://allowed-a.example"
    else:
        headers.update({"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"})
    if content_type:
        headers["Content-Type"] = content_type
    before = kernel_ids(gw_open)
    for path, body in (("/api/kernels", {"name": "python3"}),
                       ("/api/sessions", {"path": "t.ipynb", "type": "notebook", "kernel": {"name": "python3"}})):
        status, hdrs, data = raw_http(gw_open.host, gw_open.port, "POST", path, headers=headers,
                                      body=json.dumps(body).encode(), timeout=30)
        assert status == 415, f"POST {path} {headers}: {status} {data[:300]!r}"
        assert "json" in hdrs.get("content-type", ""), hdrs
    assert kernel_ids(gw_open) == before


@pytest.mark.parametrize("content_type", BROWSER_BODY_TYPES + ["application/octet-stream", "application/json"])
def test_finding01_non_browser_clients_any_content_type(gw_open, content_type):
    """No Origin and no Sec-Fetch-*: jupyter_server, tornado, curl (-d sends a form type) keep working."""
    headers = {"Host": f"127.0.0.1:{gw_open.port}"}
    if content_type:
        headers["Content-Type"] = content_type
    status, _, data = raw_http(gw_open.host, gw_open.port, "POST", "/api/kernels", headers=headers,
                               body=json.dumps({"name": NO_KERNEL_SPEC}).encode(), timeout=30)
    assert status == 404, f"{content_type}: {status} {data[:300]!r}"


def test_finding01_curl_style_form_post_starts_a_kernel(gw_open, kernels):
    """The real thing once: a kernel started by a non-browser client posting JSON as a form (as `curl -d` does)."""
    status, _, data = raw_http(gw_open.host, gw_open.port, "POST", "/api/kernels", headers={
        "Host": f"127.0.0.1:{gw_open.port}", "Content-Type": "application/x-www-form-urlencoded"},
        body=json.dumps({"name": "python3"}).encode(), timeout=90)
    assert status == 201, data[:300]
    kernels.track(gw_open.rest, json.loads(data)["id"])
