"""Safe by default, transport (issue 13; review findings 17 and 21).

- Half-open connections (a request head that never completes) are closed within ``--header-timeout`` seconds,
  however many, and never keep a new client from being served; beyond ``--max-connections`` open connections a
  new one is closed at once.
- TLS: 1.0 and 1.1 are refused even by a client that allows them, 1.2 and 1.3 work, and only forward-secret
  ciphers are offered (static-RSA suites fail). Each refusal is first shown to be something this machine's
  ``openssl`` client can do at all, against ``openssl s_server``, so that a refusal proves the gateway refused.
- ``--client-ca`` (``EG_CLIENT_CA``): a client needs a certificate signed by that CA.
"""

from __future__ import annotations

import re
import select
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import requests

from helpers import free_port, wait_until
from procs import IMPL

pytestmark = [pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's connection limits and TLS policy (issue 13)"),
              pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")]


def partial_head(port: int) -> bytes:
    return f"GET /api/kernelspecs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()


def open_connections(port: int, n: int, payload: bytes | None) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if payload:
            s.sendall(payload)
        socks.append(s)
    return socks


def closed_by_peer(s: socket.socket) -> bool:
    """True once the peer has closed (EOF or reset); drains whatever it sent before (e.g. a 408)."""
    while True:
        r, _, _ = select.select([s], [], [], 0)
        if not r:
            return False
        try:
            data = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError, OSError):
            return True
        if not data:
            return True


def wait_all_closed(socks: list[socket.socket], timeout: float) -> tuple[int, float]:
    """Poll until every socket is closed by the peer; returns (how many are still open, seconds waited)."""
    t0 = time.monotonic()
    open_ = list(socks)
    while open_ and time.monotonic() - t0 < timeout:
        open_ = [s for s in open_ if not closed_by_peer(s)]
        if open_:
            time.sleep(0.05)
    return len(open_), time.monotonic() - t0


def served(gw, timeout: float = 5) -> int:
    return requests.get(f"{gw.http_url}/api/kernelspecs", timeout=timeout).status_code


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# finding 17: half-open connections and the connection cap
# --------------------------------------------------------------------------------------------


def test_finding17_half_open_connections_closed_within_header_timeout(gateways, kernelspecs_dir, root_dir):
    header_timeout = 2
    gw = gateways("slowloris", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                  extra_args=["--header-timeout", str(header_timeout)])
    socks = open_connections(gw.port, 300, partial_head(gw.port))
    try:
        flooded = time.monotonic()
        t0 = time.monotonic()
        assert served(gw) == 200  # a new client during the flood
        assert time.monotonic() - t0 < 2, "a new client waited behind the half-open connections"
        still_open, waited = wait_all_closed(socks, header_timeout + 5)
        assert still_open == 0, f"{still_open} of 300 half-open connections still open {time.monotonic() - flooded:.1f}s " \
                                f"after the flood (--header-timeout {header_timeout})"
        assert served(gw) == 200
    finally:
        close_all(socks)
    assert gw.alive()


def test_finding17_complete_slow_request_within_timeout_is_served(gateways, kernelspecs_dir, root_dir):
    """The timeout is for the head, not a trap for ordinary clients: a head sent in pieces within it is answered."""
    gw = gateways("slow-but-ok", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, extra_args=["--header-timeout", "3"])
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(partial_head(gw.port))
        time.sleep(1)
        s.sendall(b"1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_finding17_connections_beyond_max_are_closed_at_once(gateways, kernelspecs_dir, root_dir):
    cap = 20
    gw = gateways("max-connections", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                  extra_args=["--max-connections", str(cap), "--header-timeout", "60"])
    idle = open_connections(gw.port, cap, None)
    try:
        time.sleep(0.3)  # let the gateway accept them all
        extra = open_connections(gw.port, 5, f"GET /api/kernelspecs HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\n\r\n".encode())
        try:
            still_open, waited = wait_all_closed(extra, 3)
            assert still_open == 0, f"{still_open} of 5 connections beyond --max-connections {cap} were kept open"
        finally:
            close_all(extra)
        # below the cap again: served
        close_all(idle[:5])
        wait_until(lambda: served(gw, 2) == 200, 10, 0.2, what="a new client to be served once connections closed")
    finally:
        close_all(idle)
    assert gw.alive()


def test_finding17_limits_from_environment(gateways, kernelspecs_dir, root_dir):
    gw = gateways("conn-env", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                  env={"EJ_HEADER_TIMEOUT": "3", "EJ_MAX_CONNECTIONS": "4"})
    # The readiness checks' keep-alive connection would take a slot; the header timeout leaves time to open all
    # five connections before the half-open ones are closed (which would free their slots).
    gw.rest.session.close()
    time.sleep(0.2)
    half = open_connections(gw.port, 3, partial_head(gw.port))
    try:
        idle = open_connections(gw.port, 1, None)
        time.sleep(0.3)
        extra = open_connections(gw.port, 1, f"GET /api/kernelspecs HTTP/1.1\r\nHost: 127.0.0.1:{gw.port}\r\n\r\n".encode())
        assert wait_all_closed(extra, 2)[0] == 0, "EJ_MAX_CONNECTIONS=4: a 5th connection was kept open"
        assert wait_all_closed(half, 3 + 4)[0] == 0, "EJ_HEADER_TIMEOUT=3: half-open connections kept"
    finally:
        close_all(half + idle + extra)


# --------------------------------------------------------------------------------------------
# finding 21: TLS versions and ciphers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1, a client certificate from that CA and one from another CA."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{ca}.key"), "-out", str(d / f"{ca}.pem"),
            "-days", "2", "-subj", f"/CN=itest {ca}")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "server.ext"), ("client", "ca", "client.ext"), ("rogue", "other-ca", "client.ext")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"),
            "-subj", f"/CN={'127.0.0.1' if name == 'server' else name}")
        run("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.pem"), "-CAkey", str(d / f"{ca}.key"),
            "-CAcreateserial", "-out", str(d / f"{name}.pem"), "-days", "2", "-extfile", str(d / ext))
    return d


@pytest.fixture(scope="module")
def gw_tls(module_gateways, kernelspecs_dir, root_dir, pki):
    return module_gateways("tls-policy", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir,
                           certfile=pki / "server.pem", keyfile=pki / "server.key")


def s_client(port: int, *args: str) -> tuple[str | None, str | None, str]:
    """``openssl s_client`` with ``args``; returns (protocol, cipher) negotiated (None, None if none) and the output."""
    proc = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args],
                          input=b"", capture_output=True, timeout=30)
    out = (proc.stdout + proc.stderr).decode(errors="replace")
    m = re.search(r"New, (TLSv[\d.]+|SSLv3), Cipher is (\S+)", out) or re.search(r"Protocol\s*:\s*(\S+).*?Cipher\s*:\s*(\S+)", out, re.S)
    if not m or m.group(2) in ("(NONE)", "0000"):
        return None, None, out
    return m.group(1), m.group(2), out


@pytest.fixture(scope="module")
def reference_server(pki):
    """``reference_server(*s_server args)``: a plain ``openssl s_server`` with those protocol/cipher options, to show
    that the local client *can* negotiate what the gateway must refuse. Returns its port."""
    started = []

    def start(*args: str) -> int:
        port = free_port()
        started.append(subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "server.pem"),
             "-key", str(pki / "server.key"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def listening():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        wait_until(listening, 10, 0.05, what="openssl s_server to listen")
        return port

    yield start
    for p in started:
        p.kill()
        p.wait(5)


WEAK = [
    ("tls1.0", ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    ("tls1.1", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    ("tls1.2-static-rsa-cbc", ["-tls1_2", "-cipher", "AES128-SHA"]),
    ("tls1.2-static-rsa-gcm", ["-tls1_2", "-cipher", "AES256-GCM-SHA384"]),
]


@pytest.mark.parametrize("name, args", WEAK, ids=[w[0] for w in WEAK])
def test_finding21_weak_tls_is_refused(gw_tls, reference_server, name, args):
    control_port = reference_server(*args)
    proto, cipher, out = s_client(control_port, *args)
    assert proto is not None, f"this machine's openssl cannot negotiate {name} at all (control):\n{out[-800:]}"
    proto, cipher, out = s_client(gw_tls.port, *args)
    assert proto is None, f"the gateway negotiated {proto} {cipher} for {name}"
    assert gw_tls.alive()


@pytest.mark.parametrize("args, expected", [(["-tls1_2"], "TLSv1.2"), (["-tls1_3"], "TLSv1.3")], ids=["tls1.2", "tls1.3"])
def test_finding21_modern_tls_works(gw_tls, args, expected):
    proto, cipher, out = s_client(gw_tls.port, *args)
    assert proto == expected, f"expected {expected}, got {proto}:\n{out[-800:]}"
    if expected == "TLSv1.2":
        assert cipher.startswith(("ECDHE-", "DHE-")), f"TLS 1.2 without forward secrecy: {cipher}"
    r = requests.get(f"{gw_tls.http_url}/api/kernelspecs", verify=str(gw_tls.config.certfile.parent / "ca.pem"), timeout=30)
    assert r.status_code == 200


# --------------------------------------------------------------------------------------------
# --client-ca: mutual TLS
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_finding21_client_ca_requires_a_client_certificate(gateways, kernelspecs_dir, root_dir, pki, how):
    config = dict(kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, certfile=pki / "server.pem",
                  keyfile=pki / "server.key", client_cert=(pki / "client.pem", pki / "client.key"))
    if how == "flag":
        config["client_ca"] = pki / "ca.pem"
    else:
        config["env"] = {"EG_CLIENT_CA": str(pki / "ca.pem")}
    gw = gateways(f"mtls-{how}", **config)
    url = f"{gw.http_url}/api/kernelspecs"
    ca = str(pki / "ca.pem")
    r = requests.get(url, verify=ca, cert=(str(pki / "client.pem"), str(pki / "client.key")), timeout=30)
    assert r.status_code == 200
    for cert in (None, (str(pki / "rogue.pem"), str(pki / "rogue.key"))):
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            requests.get(url, verify=ca, cert=cert, timeout=30)
    # the handshake itself fails (not an HTTP error after it): also for a raw TLS client
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET /api/kernelspecs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if not tls.recv(1024):
                    raise ConnectionResetError("closed without an answer")
    assert gw.alive()
