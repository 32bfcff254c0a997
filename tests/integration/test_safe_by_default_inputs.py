"""Safe by default, hostile input (issue 13; review findings 3, 4, 18, 19, 28, 30): no request crashes or
exhausts the gateway, and no error answer tells a client where things are on the server.

Every test starts the gateway configuration it needs (most with the fast ``echo`` kernel) and checks the effect:
the status, the process still alive, its peak memory (``VmHWM``), the kernels that did (not) start.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from helpers import RssSampler, assert_json_error, vm_hwm_bytes, wait_until
from procs import EJ_BINARY, IMPL, REPO_ROOT, RUN_MARKER, clean_env, write_kernelspecs

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's input limits (issue 13)")

MB = 1000 * 1000


def alive_and_serving(gw):
    assert gw.alive(), f"gateway died:\n{gw.log_tail()}"
    assert gw.rest.get("api/kernelspecs", timeout=10).status_code == 200


def kernel_count(gw) -> int:
    return len(gw.rest.get("api/kernels", timeout=30).json())


# --------------------------------------------------------------------------------------------
# finding 3: numbers from clients (KERNEL_LAUNCH_TIMEOUT) and malformed requests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _inputs_gateway(module_gateways, echo_kernelspecs_dir, root_dir):
    def start():
        return module_gateways("inputs", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir, max_body_size=64 * 1024)
    return {"start": start, "gw": start()}


@pytest.fixture
def gw_inputs(_inputs_gateway):
    """Shared by the module's tests; a new one if an earlier test killed it (each test then fails on its own)."""
    if not _inputs_gateway["gw"].alive():
        _inputs_gateway["gw"] = _inputs_gateway["start"]()
    return _inputs_gateway["gw"]


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "nan", "1e300", "9.3e15", "-1", "0x1p1023"])
def test_finding03_launch_timeout_hostile_values_are_400(gw_inputs, kernels, value):
    before_hwm = vm_hwm_bytes(gw_inputs.pid)
    before = kernel_count(gw_inputs)
    try:
        r = gw_inputs.rest.post("api/kernels", json={"name": "echo", "env": {"KERNEL_LAUNCH_TIMEOUT": value}}, timeout=30)
    except requests.ConnectionError as exc:
        pytest.fail(f"KERNEL_LAUNCH_TIMEOUT={value!r}: connection dropped ({exc}); gateway alive: {gw_inputs.alive()}")
    if r.status_code == 201:
        kernels.track(gw_inputs.rest, r.json()["id"])
    body = assert_json_error(r, 400)
    assert "KERNEL_LAUNCH_TIMEOUT" in body["message"], body
    alive_and_serving(gw_inputs)
    assert kernel_count(gw_inputs) == before
    growth = vm_hwm_bytes(gw_inputs.pid) - before_hwm
    assert growth < 20 * MB, f"VmHWM grew by {growth / MB:.1f} MB"


@pytest.mark.parametrize("body", [b'{"name":"echo",}', b'{"name":"echo","env":{"KERNEL_X":"1",}}', b'{"env":{},}',
                                  b'[1,]', b'{"name":"echo",,}', b'{,"name":"echo"}'])
@pytest.mark.parametrize("route", ["api/kernels", "api/sessions"])
def test_finding03_json_with_trailing_commas_is_400(gw_inputs, route, body):
    before = kernel_count(gw_inputs)
    r = gw_inputs.rest.post(route, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert_json_error(r, 400)
    assert kernel_count(gw_inputs) == before


def read_status(sock: socket.socket, timeout: float) -> tuple[int | None, bytes]:
    """Read until the status line and headers arrived (or the peer closed / the time is up)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in data and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        data += chunk
    if not data.startswith(b"HTTP/1."):
        return None, data
    return int(data.split(b" ", 2)[1]), data


def test_finding03_body_over_limit_is_413(gw_inputs):
    limit = 64 * 1024
    big = {"name": "echo", "env": {"KERNEL_PAD": "x" * 4000}, "pad": "y" * (limit + 10)}
    assert_json_error(gw_inputs.rest.post("api/kernels", json=big, timeout=30), 413)
    assert_json_error(gw_inputs.rest.post("api/sessions", json={**big, "path": "p.ipynb", "type": "notebook"}, timeout=30), 413)
    alive_and_serving(gw_inputs)


@pytest.mark.parametrize("route", ["api/kernels", "api/sessions"])
def test_finding03_announced_huge_body_gets_413_before_it_is_sent(gw_inputs, route):
    """Content-Length of 1 GB, only 70 KB sent: the 413 comes without the gateway waiting for the rest."""
    with socket.create_connection((gw_inputs.host, gw_inputs.port), timeout=10) as s:
        s.sendall(f"POST /{route} HTTP/1.1\r\nHost: 127.0.0.1:{gw_inputs.port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {10 ** 9}\r\n\r\n".encode())
        try:
            s.sendall(b'{"pad": "' + b"x" * 70_000)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway answered and closed while we were still sending: fine
        status, data = read_status(s, 10)
    assert status == 413, f"no 413 within 10 s of sending 70 KB of an announced 1 GB body: {data[:300]!r}"
    alive_and_serving(gw_inputs)


@pytest.mark.parametrize("case", ["no_key", "version_99", "no_version", "short_key"])
def test_finding03_malformed_websocket_handshake_is_400(gw_inputs, kernels, case):
    model = kernels.start(gw_inputs, "echo")
    headers = {"Host": f"127.0.0.1:{gw_inputs.port}", "Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
    if case == "no_key":
        del headers["Sec-WebSocket-Key"]
    elif case == "version_99":
        headers["Sec-WebSocket-Version"] = "99"
    elif case == "no_version":
        del headers["Sec-WebSocket-Version"]
    else:
        headers["Sec-WebSocket-Key"] = "c2hvcnQ="  # base64 of 5 bytes, not 16
    head = f"GET /api/kernels/{model['id']}/channels HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((gw_inputs.host, gw_inputs.port), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n")
        status, data = read_status(s, 10)
    # RFC 6455 §4.2.2 lets an unsupported version be answered 426 (with Sec-WebSocket-Version): also a real answer
    allowed = {400, 426} if case == "version_99" else {400}
    assert status in allowed, f"{case}: expected {sorted(allowed)}, got {status}: {data[:300]!r}"
    alive_and_serving(gw_inputs)


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.02, 0.1])
def test_finding03_restart_racing_delete_is_never_5xx(gw_inputs, kernels, delay):
    model = kernels.start(gw_inputs, "echo")
    kid = model["id"]
    results: dict[str, int | str] = {}

    def restart():
        try:
            results["restart"] = gw_inputs.rest.post(f"api/kernels/{kid}/restart", timeout=60).status_code
        except requests.RequestException as exc:
            results["restart"] = repr(exc)

    t = threading.Thread(target=restart)
    t.start()
    time.sleep(delay)
    results["delete"] = gw_inputs.rest.delete(f"api/kernels/{kid}", timeout=60).status_code
    t.join(70)
    assert not t.is_alive(), "the restart never answered"
    assert results["restart"] in (200, 404, 409), results
    assert results["delete"] in (204, 404, 409), results
    alive_and_serving(gw_inputs)
    if results["delete"] == 204:
        wait_until(lambda: gw_inputs.rest.get(f"api/kernels/{kid}", timeout=10).status_code == 404, 15,
                   what="the deleted kernel to be gone")


# --------------------------------------------------------------------------------------------
# finding 4: YAML alias bomb in KERNEL_VOLUMES / KERNEL_VOLUME_MOUNTS (pod kernelspec, fake cluster)
# --------------------------------------------------------------------------------------------


def alias_bomb(levels: int = 7, width: int = 10) -> str:
    """One line (no newline is allowed in a kernel variable): ``[&a0 [x,...], &a1 [*a0,...], ...]``; level N
    expands to width**(N+1) scalars."""
    items = ["&a0 [" + ",".join(["x"] * width) + "]"]
    for n in range(1, levels + 1):
        items.append(f"&a{n} [" + ",".join([f"*a{n - 1}"] * width) + "]")
    return "[" + ", ".join(items) + "]"


@pytest.fixture
def pod_gateway(tmp_path, log_dir):
    """A gateway with a pod kernelspec (allowing a volume, so that parsing the request is needed) and a fake API
    server (tests/fakekube); no kubelet: nothing may ever get as far as a pod."""
    tests = Path(__file__).resolve().parent.parent
    for p in (tests, tests / "kube"):
        if str(p) not in sys.path:
            sys.path.insert(0, str(p))
    import podkit
    from fakekube.server import FakeKubeServer

    kube = FakeKubeServer(workdir=tmp_path / "fakekube").start()
    factory = podkit.GatewayFactory(log_dir, tmp_path)
    try:
        cluster = podkit.make_cluster(kube, None, tmp_path)
        specs = tmp_path / "pod-specs" / "kernels"
        podkit.write_pod_kernelspec(specs, "pod_volumes", argv=podkit.ECHO_ARGV, interrupt_mode=None,
                                    ours={"allowed_volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]})
        gw = factory(specs, cluster.kubeconfig, name="gw-bomb", launch_timeout=10)
        yield gw, cluster
    finally:
        factory.stop_all()
        kube.stop()


@pytest.mark.parametrize("variable", ["KERNEL_VOLUMES", "KERNEL_VOLUME_MOUNTS"])
def test_finding04_kernel_volumes_alias_bomb_is_refused_fast(pod_gateway, variable):
    gw, cluster = pod_gateway
    assert "pod_volumes" in gw.rest.get("api/kernelspecs").json()["kernelspecs"], "the pod kernelspec is not offered"
    bomb = alias_bomb(7)
    assert 330 <= len(bomb) <= 420, len(bomb)
    before_hwm = vm_hwm_bytes(gw.pid)
    with RssSampler(gw.pid, 0.02, kill_above=before_hwm + 1500 * MB) as dog:
        t0 = time.monotonic()
        try:
            r = gw.rest.post("api/kernels", json={"name": "pod_volumes", "env": {variable: bomb}}, timeout=20)
            status, text = r.status_code, r.text
        except requests.RequestException as exc:
            status, text = None, repr(exc)
        took = time.monotonic() - t0
        hwm_growth = vm_hwm_bytes(gw.pid) - before_hwm if gw.alive() else None
    assert not dog.tripped, f"the gateway passed +1.5 GB expanding a {len(bomb)}-byte {variable} (killed)"
    assert status is not None and 400 <= status < 500, f"{variable} bomb: {status} {text[:300]}"
    assert took < 1.0, f"{variable} bomb took {took:.2f}s to refuse"
    alive_and_serving(gw)
    assert hwm_growth is not None and hwm_growth < 20 * MB, f"VmHWM grew by {(hwm_growth or 0) / MB:.1f} MB"
    assert cluster.kernel_objects() == [], "the bomb reached the cluster"


# --------------------------------------------------------------------------------------------
# finding 18: sessions are bounded in field length and number
# --------------------------------------------------------------------------------------------


@pytest.fixture
def session_kernel(gw_inputs, kernels) -> str:
    return kernels.start(gw_inputs, "echo")["id"]


@pytest.mark.parametrize("field", ["path", "name", "type"])
@pytest.mark.parametrize("value", ["x" * 4097, "é" * 2049, "x" * 60_000], ids=["4097B", "4098B-2049chars", "60KB"])
def test_finding18_session_fields_over_4096_bytes_are_400(gw_inputs, session_kernel, field, value):
    base = {"path": f"s-{uuid.uuid4().hex}.ipynb", "name": "n", "type": "notebook", "kernel": {"id": session_kernel}}
    sessions_before = len(gw_inputs.rest.get("api/sessions").json())
    assert_json_error(gw_inputs.rest.post("api/sessions", json={**base, field: value}, timeout=30), 400)
    assert len(gw_inputs.rest.get("api/sessions").json()) == sessions_before
    # the same through PATCH of an existing session
    r = gw_inputs.rest.post("api/sessions", json=base, timeout=30)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert_json_error(gw_inputs.rest.patch(f"api/sessions/{sid}", json={field: value}, timeout=30), 400)
    assert gw_inputs.rest.get(f"api/sessions/{sid}").json()[field] == base[field]


def test_finding18_session_field_of_4096_bytes_is_accepted(gw_inputs, session_kernel):
    path = "p" * (4096 - len(".ipynb")) + ".ipynb"
    r = gw_inputs.rest.post("api/sessions", json={"path": path, "type": "notebook", "kernel": {"id": session_kernel}})
    assert r.status_code == 201, r.text[:300]
    assert r.json()["path"] == path


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_finding18_number_of_sessions_is_bounded(gateways, echo_kernelspecs_dir, root_dir, kernels, how):
    config = dict(kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir)
    if how == "flag":
        config["extra_args"] = ["--max-sessions", "5"]
    else:
        config["env"] = {"EJ_MAX_SESSIONS": "5"}
    gw = gateways(f"sessions-{how}", **config)
    kid = kernels.start(gw, "echo")["id"]
    for i in range(5):
        r = gw.rest.post("api/sessions", json={"path": f"nb-{i}.ipynb", "type": "notebook", "kernel": {"id": kid}})
        assert r.status_code == 201, f"session {i + 1} of 5: {r.status_code} {r.text[:300]}"
    for extra in ({"kernel": {"id": kid}}, {"kernel": {"name": "echo"}}):
        before = kernel_count(gw)
        r = gw.rest.post("api/sessions", json={"path": f"nb-{uuid.uuid4().hex}.ipynb", "type": "notebook", **extra})
        if r.status_code == 201:
            kernels.track(gw.rest, r.json()["kernel"]["id"])
        assert_json_error(r, 403)
        assert kernel_count(gw) == before, "a refused session started a kernel"
    assert len(gw.rest.get("api/sessions").json()) == 5
    # the bound is on sessions that exist, not on how many were ever made
    first = gw.rest.get("api/sessions").json()[0]["id"]
    assert gw.rest.delete(f"api/sessions/{first}").status_code == 204
    r = gw.rest.post("api/sessions", json={"path": "after-delete.ipynb", "type": "notebook", "kernel": {"name": "echo"}})
    assert r.status_code == 201, r.text[:300]
    kernels.track(gw.rest, r.json()["kernel"]["id"])
    alive_and_serving(gw)


# --------------------------------------------------------------------------------------------
# finding 19: kernel starts are limited, by default too
# --------------------------------------------------------------------------------------------


def default_of(flag: str) -> str:
    import subprocess

    out = subprocess.run([str(EJ_BINARY), "gateway", "--print-settings-table"], env=clean_env(), capture_output=True,
                         timeout=30, text=True).stdout
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].strip("`").split(" ")[0] == flag:
            return cells[2].strip("`")
    raise AssertionError(f"{flag} not in the settings table:\n{out[:2000]}")


def start_many(gw, n: int, kernels, body_for=lambda i: {"name": "echo"}) -> list[int]:
    def one(i):
        r = gw.rest.post("api/kernels", json=body_for(i), timeout=90)
        if r.status_code == 201:
            kernels.track(gw.rest, r.json()["id"])
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def test_finding19_default_max_kernels_is_finite_and_enforced(gateways, echo_kernelspecs_dir, root_dir, kernels):
    default = default_of("--max-kernels")
    assert default.isdigit() and 0 < int(default) <= 256, \
        f"--max-kernels defaults to {default!r}: unlimited (0) or more than a machine survives"
    n = int(default)
    gw = gateways("default-limit", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir)
    statuses = start_many(gw, n, kernels)
    assert statuses == [201] * n, f"{statuses.count(201)} of {n} starts succeeded: {sorted(set(statuses))}"
    r = gw.rest.post("api/kernels", json={"name": "echo"}, timeout=60)
    if r.status_code == 201:
        kernels.track(gw.rest, r.json()["id"])
    body = assert_json_error(r, 403)
    assert str(n) in body["message"], body
    alive_and_serving(gw)


def test_finding19_max_kernels_2_third_start_is_403(gateways, echo_kernelspecs_dir, root_dir, kernels):
    gw = gateways("max2", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir, extra_args=["--max-kernels", "2"])
    kernels.start(gw, "echo")
    kernels.start(gw, "echo", env={"KERNEL_USERNAME": "someone"})
    for route, body in (("api/kernels", {"name": "echo"}),
                        ("api/kernels", {"name": "echo", "env": {"KERNEL_USERNAME": "other"}}),
                        ("api/sessions", {"path": "third.ipynb", "type": "notebook", "kernel": {"name": "echo"}})):
        r = gw.rest.post(route, json=body, timeout=60)
        if r.status_code == 201:
            kernels.track(gw.rest, (r.json().get("kernel") or r.json())["id"])
        assert "2" in assert_json_error(r, 403)["message"]
    assert kernel_count(gw) == 2


def test_finding19_per_user_limit_buckets(gateways, echo_kernelspecs_dir, root_dir, kernels):
    """Starts without KERNEL_USERNAME share one bucket; user names are compared case-insensitively."""
    gw = gateways("per-user", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir,
                  extra_args=["--max-kernels-per-user", "1"])

    def start(env=None, route="api/kernels"):
        body = {"name": "echo", **({"env": env} if env is not None else {})} if route == "api/kernels" else \
            {"path": f"{uuid.uuid4().hex}.ipynb", "type": "notebook", "kernel": {"name": "echo"}}
        r = gw.rest.post(route, json=body, timeout=60)
        if r.status_code == 201:
            kernels.track(gw.rest, (r.json().get("kernel") or r.json())["id"])
        return r

    assert start({"KERNEL_USERNAME": "alice"}).status_code == 201
    assert_json_error(start({"KERNEL_USERNAME": "Alice"}), 403)
    assert_json_error(start({"KERNEL_USERNAME": "ALICE"}), 403)
    assert start({"KERNEL_USERNAME": "bob"}).status_code == 201
    assert start().status_code == 201  # no user name: the anonymous bucket
    assert_json_error(start(), 403)
    assert_json_error(start({}), 403)
    assert_json_error(start(route="api/sessions"), 403)  # sessions start kernels without any env: same bucket
    assert kernel_count(gw) == 3


# --------------------------------------------------------------------------------------------
# finding 28: error bodies carry no server paths
# --------------------------------------------------------------------------------------------


def test_finding28_error_bodies_carry_no_server_paths(gateways, tmp_path, root_dir, kernels):
    from procs import VENV_PY

    missing = tmp_path / "secret-install-dir" / "bin" / "kernel-exe"
    specs = write_kernelspecs(tmp_path / "paths-specs" / "kernels", {
        "missing_exe": {"argv": [str(missing), "-f", "{connection_file}"], "display_name": "m", "language": "python"},
        "dir_exe": {"argv": [str(tmp_path), "-f", "{connection_file}"], "display_name": "d", "language": "python"},
        "never_ready": {"argv": [str(VENV_PY), "-c", "import time; time.sleep(60)", "{connection_file}"],
                        "display_name": "n", "language": "python", "env": {"EJ_ITEST_RUN": RUN_MARKER}},
    })
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    gw = gateways("paths", kernelspec_dirs=[specs], root_dir=root_dir, kernel_launch_timeout=2,
                  extra_args=["--runtime-dir", str(runtime)])
    forbidden = [str(missing), str(tmp_path), str(runtime), str(specs), str(REPO_ROOT), str(EJ_BINARY), str(VENV_PY),
                 str(root_dir), "/tmp/", "/work/", "/root/"]
    answers = []
    for name in ("missing_exe", "dir_exe", "never_ready"):
        r = gw.rest.post("api/kernels", json={"name": name}, timeout=60)
        if r.status_code == 201:
            kernels.track(gw.rest, r.json()["id"])
        answers.append((name, r))
    r = gw.rest.post("api/sessions", json={"path": "x.ipynb", "type": "notebook", "kernel": {"name": "missing_exe"}})
    answers.append(("session missing_exe", r))
    for what, method, path, body in (("unknown spec", "POST", "api/kernels", {"name": "nope"}),
                                     ("unknown kernel", "GET", f"api/kernels/{uuid.uuid4()}", None),
                                     ("bad path", "POST", "api/kernels", {"name": "missing_exe", "path": "../../etc"}),
                                     ("bad working dir", "POST", "api/kernels",
                                      {"name": "missing_exe", "env": {"KERNEL_WORKING_DIR": "/nonexistent/wd"}}),
                                     ("unknown resource", "GET", "kernelspecs/missing_exe/nothing.png", None)):
        answers.append((what, gw.rest.request(method, path, json=body, timeout=30)))
    for what, r in answers:
        assert r.status_code >= 400, f"{what}: {r.status_code}"
        assert_json_error(r, r.status_code, forbidden)
    alive_and_serving(gw)


# --------------------------------------------------------------------------------------------
# finding 30: a negative cull timeout means "off" (as the CRD documents), not a crash loop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["flag", "flag_equals", "environment"])
def test_finding30_negative_cull_idle_timeout_disables_culling(gateways, echo_kernelspecs_dir, root_dir, kernels, how):
    config = dict(kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir, extra_args=["--cull-interval", "0.2"])
    if how == "flag":
        config["extra_args"] += ["--cull-idle-timeout", "-1"]
    elif how == "flag_equals":
        config["extra_args"] += ["--cull-idle-timeout=-1"]
    else:
        config["env"] = {"EG_CULL_IDLE_TIMEOUT": "-1"}
    gw = gateways(f"cull-negative-{how}", **config)
    kid = kernels.start(gw, "echo")["id"]
    time.sleep(1.5)  # several culling passes
    assert gw.rest.get(f"api/kernels/{kid}").status_code == 200, "a kernel was culled although culling is off"
    alive_and_serving(gw)
