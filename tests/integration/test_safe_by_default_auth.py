"""Safe by default, authentication (issue 13; review findings 1 and 16).

- The default configuration (no token, no ``--allow-unauthenticated``) generates a random token, requires it on
  REST and on the WebSocket upgrade, and prints a ready-to-paste ``jupyter lab --gateway-url=...
  --GatewayClient.auth_token=...`` line. ``--allow-unauthenticated`` / ``EJ_ALLOW_UNAUTHENTICATED=true`` is
  the only way to run without one.
- ``--auth-token-file`` keeps the token out of argv and environment; ``EG_AUTH_TOKEN`` is scrubbed from the
  gateway's own ``/proc/<pid>/environ``; a local kernel reading ``/proc/$PPID/{environ,cmdline}`` (its parent is
  the gateway) finds the token in neither.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from helpers import assert_json_error, free_port, wait_until, ws_handshake_status
from procs import IMPL, VENV_PY, Gateway, GatewayConfig, RUN_MARKER, write_kernelspecs

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's authentication defaults (issue 13)")


def get(gw, path, **kw):
    kw.setdefault("timeout", 30)
    return requests.get(f"{gw.http_url}{gw.base_url}{path}", **kw)


def test_finding01_default_gateway_generates_token_and_prints_connect_line(gateways, kernelspecs_dir, root_dir, kernels):
    a = gateways("default-a", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, allow_unauthenticated=False)
    b = gateways("default-b", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, allow_unauthenticated=False)
    assert "--allow-unauthenticated" not in a.cmd and "--auth-token" not in a.cmd
    token_a, token_b = a.printed_token(), b.printed_token()
    assert token_a, f"no `jupyter lab --gateway-url=http://127.0.0.1:{a.port} --GatewayClient.auth_token=...` line:\n{a.log_tail()}"
    assert f"jupyter lab --gateway-url=http://127.0.0.1:{a.port} --GatewayClient.auth_token={token_a}" in a.log_path.read_text()
    assert token_b and token_a != token_b, "two gateways generated the same token"
    assert len(token_a) >= 16, f"generated token too short to be unguessable: {token_a!r}"

    for path in ("api", "api/kernelspecs", "api/kernels", "api/sessions"):
        assert_json_error(get(a, path), 401, [token_a])
        assert_json_error(get(a, path, headers={"Authorization": f"token {token_b}"}), 401, [token_a])
    r = requests.post(f"{a.http_url}/api/kernels", json={"name": "python3"}, timeout=60)
    assert_json_error(r, 401, [token_a])
    assert get(a, "api/kernels", headers={"Authorization": f"token {token_a}"}).json() == [], "a kernel started without the token"

    # with the printed token: everything works, REST and WebSocket
    assert get(a, "api/kernelspecs", headers={"Authorization": f"token {token_a}"}).status_code == 200
    assert get(a, "api/kernelspecs", params={"token": token_a}).status_code == 200
    model = kernels.start(a, "python3")  # a.rest carries the adopted token
    url = a.ws_url(model["id"])
    assert ws_handshake_status(url) == 401
    assert ws_handshake_status(url + f"?token={token_a}") == 101
    assert kernels.ws(a, model["id"]).execute_ok("print(6 * 7)") == "42\n"


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_finding01_allow_unauthenticated_opens_on_purpose(log_dir, kernelspecs_dir, how):
    port = free_port()
    args = ["--ip", "127.0.0.1", "--port", str(port), "--kernelspecs-dir", str(kernelspecs_dir)]
    env = {}
    if how == "flag":
        args.append("--allow-unauthenticated")
    else:
        env["EJ_ALLOW_UNAUTHENTICATED"] = "true"
    g = Gateway(GatewayConfig(raw=True, extra_args=args, env=env, port=port), log_dir, f"open-{how}")
    try:
        g.start()
        assert get(g, "api/kernelspecs").status_code == 200
        assert g.printed_token(timeout=1) is None, "an open gateway printed a token line"
    finally:
        g.stop()


@pytest.mark.parametrize("value", ["false", "0"])
def test_finding01_allow_unauthenticated_false_keeps_token(log_dir, kernelspecs_dir, value):
    port = free_port()
    g = Gateway(GatewayConfig(raw=True, port=port, env={"EJ_ALLOW_UNAUTHENTICATED": value},
                              extra_args=["--ip", "127.0.0.1", "--port", str(port), "--kernelspecs-dir", str(kernelspecs_dir)]),
                log_dir, "not-open")
    try:
        g.start()
        assert_json_error(get(g, "api/kernelspecs"), 401)
    finally:
        g.stop()


# --------------------------------------------------------------------------------------------
# finding 16: where the token can be read
# --------------------------------------------------------------------------------------------


def proc_bytes(pid: int, name: str) -> bytes:
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read()


@pytest.fixture
def snooping_specs(tmp_path):
    """A local kernelspec whose command first copies its parent's (the gateway's) /proc environ and cmdline."""
    dump = tmp_path / "snoop"
    dump.mkdir()
    script = (f"cat /proc/$PPID/environ > {dump}/environ; cat /proc/$PPID/cmdline > {dump}/cmdline; "
              f"exec {VENV_PY} -m ipykernel_launcher -f {{connection_file}}")
    specs = {"snoop": {"argv": ["/bin/sh", "-c", script], "display_name": "snoop", "language": "python",
                       "env": {"EJ_ITEST_RUN": RUN_MARKER}}}
    return write_kernelspecs(tmp_path / "snoop-specs" / "kernels", specs), dump


@pytest.mark.parametrize("source", ["token_file", "env"])
def test_finding16_token_not_readable_from_proc(gateways, snooping_specs, root_dir, tmp_path, kernels, source):
    specs, dump = snooping_specs
    token = "proc-secret-" + uuid.uuid4().hex
    config = dict(kernelspec_dirs=[specs], root_dir=root_dir, auth_token=token)
    if source == "token_file":
        token_file = tmp_path / "token"
        token_file.write_text(f"  {token}\n\n")  # whitespace around it is trimmed
        config["auth_token_file"] = token_file
    else:
        config["auth_token_via_env"] = True
    gw = gateways(f"proc-{source}", **config)
    secret = token.encode()
    if source == "token_file":
        assert str(token_file) in " ".join(gw.cmd) and token not in " ".join(gw.cmd)
        assert_json_error(get(gw, "api/kernelspecs", headers={"Authorization": f"token {token}x"}), 401)
    assert get(gw, "api/kernelspecs", headers={"Authorization": f"token {token}"}).status_code == 200
    assert secret not in proc_bytes(gw.pid, "cmdline"), "the token is in the gateway's argv"
    assert secret not in proc_bytes(gw.pid, "environ"), "the token is in the gateway's /proc/<pid>/environ"

    model = kernels.start(gw, "snoop")
    ws = kernels.ws(gw, model["id"])
    assert ws.execute_ok("import os; print(os.getppid() == int(os.environ['JPY_PARENT_PID']))") == "True\n"
    environ, cmdline = (dump / "environ").read_bytes(), (dump / "cmdline").read_bytes()
    assert environ and cmdline, "the kernel could not read its parent's /proc files (the check would prove nothing)"
    assert str(gw.port).encode() in cmdline or b"elastic-jupyter" in cmdline, "the kernel's parent is not the gateway"
    assert secret not in environ, "a local kernel read the token from the gateway's /proc/<pid>/environ"
    assert secret not in cmdline, "a local kernel read the token from the gateway's /proc/<pid>/cmdline"
    out = ws.execute_ok("import os\nprint(sorted(k for k, v in os.environ.items() if %r in v))" % token)
    assert out == "[]\n", f"the token is in the kernel's own environment: {out}"


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_finding16_unusable_token_file_never_means_open(log_dir, tmp_path, kernelspecs_dir, case):
    """A token file that cannot be used must not silently mean "no authentication": the gateway either refuses to
    start, or requires a token all the same."""
    path = tmp_path / f"{case}-token"
    if case == "empty":
        path.write_text(" \n")
    port = free_port()
    g = Gateway(GatewayConfig(raw=True, port=port, extra_args=["--ip", "127.0.0.1", "--port", str(port),
                                                               "--kernelspecs-dir", str(kernelspecs_dir),
                                                               "--auth-token-file", str(path)]), log_dir, f"tokenfile-{case}")
    try:
        try:
            g.start()
        except RuntimeError:
            assert g.proc.returncode not in (None, 0), "the gateway neither served nor exited with an error"
            assert "token" in g.log_path.read_text(errors="replace").lower(), f"the error does not name the token file:\n{g.log_tail()}"
            return
        assert_json_error(get(g, "api/kernelspecs"), 401)
    finally:
        g.stop()
