"""Configuration: the alternative gateway (base_url, listing off, allow-list, default kernel, launch
timeout) and configuration through environment variables (flags win over env)."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from conftest import ALT_BASE_URL
from helpers import assert_json_error, free_port, wait_until
from procs import IMPL, NEVER_READY_SENTINEL, LOGO, Gateway, GatewayConfig, processes_with_cmdline

# --------------------------------------------------------------------------------------------
# gw_alt: --base-url /gw/ --no-list-kernels --allowed-kernels ... --default-kernel python3_ipykernel6
# --------------------------------------------------------------------------------------------


def test_base_url_routes(gw_alt):
    assert gw_alt.base_url == ALT_BASE_URL
    assert gw_alt.rest.get("api").status_code == 200
    assert requests.get(f"{gw_alt.http_url}/api", timeout=30).status_code == 404
    assert requests.get(f"{gw_alt.http_url}/api/kernelspecs", timeout=30).status_code == 404


def test_base_url_location_and_resources(gw_alt, kernels):
    r = gw_alt.rest.post("api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kernels.track(gw_alt.rest, r.json()["id"])
    assert r.headers["Location"] == f"{ALT_BASE_URL}api/kernels/{r.json()['id']}"
    spec = gw_alt.rest.get("api/kernelspecs/python3").json()
    logo = spec["resources"]["logo-64x64"]
    assert logo == f"{ALT_BASE_URL}kernelspecs/python3/logo-64x64.png"
    r = requests.get(gw_alt.http_url + logo, timeout=30)
    assert r.status_code == 200 and r.content == LOGO


def test_listing_disabled(gw_alt, kernels):
    kernels.start(gw_alt, "python3")
    assert_json_error(gw_alt.rest.get("api/kernels"), 403)
    assert_json_error(gw_alt.rest.get("api/sessions"), 403)


def test_allowed_kernels_and_default(gw_alt, kernels):
    body = gw_alt.rest.get("api/kernelspecs").json()
    assert body["default"] == "python3_ipykernel6"
    assert set(body["kernelspecs"]) == {"python3", "python3_ipykernel6", "never_ready"}
    model = kernels.start(gw_alt, None)
    assert model["name"] == "python3_ipykernel6"


@pytest.mark.ej_only  # EG's allow-list only filters the listing: it starts any installed spec
def test_kernel_outside_allow_list_refused(gw_alt, kernels):
    r = gw_alt.rest.post("api/kernels", json={"name": "message_interrupt"})
    if r.status_code == 201:
        kernels.track(gw_alt.rest, r.json()["id"])
    assert_json_error(r, (403, 404))
    assert gw_alt.rest.get("api/kernelspecs/message_interrupt").status_code in (403, 404)


@pytest.mark.ej_only  # EG answers 201 for local kernels before they are up
def test_launch_timeout_cleans_up(gw_alt, kernels):
    """A kernel that never opens its ports: the POST fails (5 s launch timeout), nothing is left behind."""
    r = gw_alt.rest.post("api/kernels", json={"name": "never_ready"}, timeout=120)
    if r.status_code == 201:
        kernels.track(gw_alt.rest, r.json()["id"])
    assert r.status_code >= 500, r.text
    assert_json_error(r, r.status_code)
    wait_until(lambda: not processes_with_cmdline(NEVER_READY_SENTINEL), 20, what="the never-ready process to be killed")


@pytest.mark.ej_only  # EG answers 201 for local kernels before they are up
@pytest.mark.parametrize("route", ["api/kernels", "api/sessions"])
def test_client_gone_mid_start_cancels_the_start(gw_alt, route):
    """A client that closes its connection while its kernel is starting: the start is cancelled and the kernel
    process killed at once, not at the launch timeout (5 s here), and the gateway keeps serving."""
    body = {"name": "never_ready"} if route == "api/kernels" else \
        {"path": "gone.ipynb", "type": "notebook", "kernel": {"name": "never_ready"}}
    data = json.dumps(body).encode()
    sock = socket.create_connection((gw_alt.host, gw_alt.port), timeout=10)
    try:
        sock.sendall(b"POST %s%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                     % (gw_alt.base_url.encode(), route.encode(), gw_alt.host.encode(), gw_alt.port, len(data)) + data)
        wait_until(lambda: processes_with_cmdline(NEVER_READY_SENTINEL), 10, 0.05, what="the kernel process to start")
    finally:
        sock.close()
    closed = time.monotonic()
    wait_until(lambda: not processes_with_cmdline(NEVER_READY_SENTINEL), 10, 0.05, what="the kernel process to be killed")
    assert time.monotonic() - closed < 2.5, "the start ran on after its client had gone"
    assert gw_alt.rest.get("api/kernelspecs").status_code == 200


# --------------------------------------------------------------------------------------------
# environment-variable configuration (ElasticJupyter binary only)
# --------------------------------------------------------------------------------------------

env_only = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter command line / EJ_* variables")


def start_with_env(env: dict[str, str], args: list[str], log_dir, port: int, base_url: str = "/",
                   token: str | None = None) -> Gateway:
    """Start the binary with exactly these args + env (nothing generated from a config)."""
    return Gateway(GatewayConfig(raw=True, env=env, extra_args=args, port=port, base_url=base_url, auth_token=token),
                   log_dir, "envcfg")


def ready_on(port: int, base: str = "/", token: str | None = None) -> bool:
    try:
        headers = {"Authorization": f"token {token}"} if token else {}
        return requests.get(f"http://127.0.0.1:{port}{base}api/kernelspecs", timeout=2, headers=headers).status_code == 200
    except requests.RequestException:
        return False


@env_only
@pytest.mark.parametrize("allowed", ["python3,authz", '["python3", "authz"]', "'python3','authz'"])
def test_configuration_from_environment(kernelspecs_dir, extra_kernelspecs_dir, log_dir, allowed):
    port = free_port()
    env = {
        "EG_IP": "127.0.0.1",
        "EG_PORT": str(port),
        "EG_BASE_URL": "/envbase/",
        "EJ_KERNELSPECS_DIRS": f"{kernelspecs_dir}:{extra_kernelspecs_dir}",
        "EG_ALLOWED_KERNELS": allowed,
        "EG_DEFAULT_KERNEL_NAME": "authz",
        "EG_LIST_KERNELS": "False",
        "EG_LOG_LEVEL": "debug",
        "EJ_ALLOW_UNAUTHENTICATED": "true",  # open on purpose: this test reads the API without a token
    }
    g = start_with_env(env, [], log_dir, port, "/envbase/")
    try:
        g.start()
        r = requests.get(f"http://127.0.0.1:{port}/envbase/api/kernelspecs", timeout=30)
        assert r.status_code == 200
        assert r.json()["default"] == "authz"
        assert set(r.json()["kernelspecs"]) == {"python3", "authz"}
        assert requests.get(f"http://127.0.0.1:{port}/envbase/api/kernels", timeout=30).status_code == 403
    finally:
        g.stop()


@env_only
def test_kernel_whitelist_alias(kernelspecs_dir, log_dir):
    port = free_port()
    env = {"EG_PORT": str(port), "EG_IP": "127.0.0.1", "EJ_KERNELSPECS_DIRS": str(kernelspecs_dir),
           "EG_KERNEL_WHITELIST": json.dumps(["python3_ipykernel6"]), "EG_DEFAULT_KERNEL_NAME": "python3_ipykernel6",
           "EJ_ALLOW_UNAUTHENTICATED": "true"}
    g = start_with_env(env, [], log_dir, port)
    try:
        g.start()
        specs = requests.get(f"http://127.0.0.1:{port}/api/kernelspecs", timeout=30).json()["kernelspecs"]
        assert set(specs) == {"python3_ipykernel6"}
    finally:
        g.stop()


@env_only
def test_flags_win_over_environment(kernelspecs_dir, log_dir, tmp_path):
    env_port, flag_port = free_port(), free_port()
    env = {
        "EG_IP": "127.0.0.1",
        "EG_PORT": str(env_port),
        "EG_BASE_URL": "/from-env/",
        "EG_AUTH_TOKEN": "env-token",
        "EJ_KERNELSPECS_DIRS": str(tmp_path),  # empty: would hide every kernelspec
        "EG_LIST_KERNELS": "False",
    }
    args = ["--port", str(flag_port), "--base-url", "/from-flag/", "--auth-token", "flag-token",
            "--kernelspecs-dir", str(kernelspecs_dir)]
    g = start_with_env(env, args, log_dir, flag_port, "/from-flag/", "flag-token")
    try:
        g.start()
        assert ready_on(flag_port, "/from-flag/", "flag-token")
        assert not ready_on(env_port, "/from-env/", "env-token")
        assert not ready_on(flag_port, "/from-env/", "flag-token")
        assert requests.get(f"http://127.0.0.1:{flag_port}/from-flag/api/kernelspecs", timeout=30,
                            headers={"Authorization": "token env-token"}).status_code == 401
        specs = requests.get(f"http://127.0.0.1:{flag_port}/from-flag/api/kernelspecs", timeout=30,
                             headers={"Authorization": "token flag-token"}).json()["kernelspecs"]
        assert "python3" in specs
    finally:
        g.stop()


@env_only
def test_bad_configuration_fails_fast(log_dir, tmp_path):
    """An unknown flag or an unusable value exits non-zero instead of serving with a wrong config."""
    import subprocess

    from procs import EJ_BINARY, clean_env

    for args in (["--no-such-flag"], ["--port", "not-a-number"],
                 ["--certfile", str(tmp_path / "missing.pem"), "--keyfile", str(tmp_path / "missing.key")]):
        port = free_port()
        full = [str(EJ_BINARY), "gateway", "--ip", "127.0.0.1"] + (["--port", str(port)] if "--port" not in args else []) + args
        try:
            proc = subprocess.run(full, env=clean_env(), capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gateway kept running with bad arguments {args}")
        assert proc.returncode != 0, args
        assert not ready_on(port)
