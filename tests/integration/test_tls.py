"""--certfile/--keyfile: REST and WebSocket over TLS (self-signed certificate made with openssl)."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import requests

from procs import Gateway, GatewayConfig


@pytest.fixture(scope="module")
def gw_tls(kernelspecs_dir, root_dir, log_dir, tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    g = Gateway(GatewayConfig(kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, certfile=cert, keyfile=key),
                log_dir, "tls")
    try:
        g.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    g.cert = cert
    yield g
    g.stop()


def test_https_rest(gw_tls):
    r = requests.get(f"{gw_tls.http_url}/api/kernelspecs", verify=str(gw_tls.cert), timeout=30)
    assert r.status_code == 200
    assert "python3" in r.json()["kernelspecs"]


def test_plain_http_not_served_on_tls_port(gw_tls):
    try:
        r = requests.get(f"http://127.0.0.1:{gw_tls.port}/api", timeout=10)
    except requests.RequestException:
        return  # connection reset / bad status line: refused
    assert r.status_code >= 400, "plain HTTP must not be served on the TLS port"


@pytest.mark.parametrize("protocol", ["legacy", "v1"])
def test_wss_execute(gw_tls, kernels, protocol):
    model = kernels.start(gw_tls)
    ws = kernels.ws(gw_tls, model["id"], protocol, sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(gw_tls.cert)})
    assert ws.url.startswith("wss://")
    assert ws.execute_ok("print('over tls')") == "over tls\n"
