"""Small helpers for tests that use fakekube (bounded waits, kubectl discovery, raw HTTP)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
import urllib.request
from typing import Any


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as e:  # let predicates assert
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}" +
                                 (f" (last: {last_exc})" if last_exc else ""))
        time.sleep(interval)


def find_kubectl() -> str | None:
    """kubectl if it is installed and runs (``kubectl version --client``), else None."""
    path = shutil.which("kubectl")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "version", "--client"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def control(url: str, method: str, path: str, body: Any = None, timeout: float = 10.0, *,
            ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None) -> Any:
    """Call the /_fake/ control API of a server from anywhere: ``control(url, "GET", "requests")``.

    For an HTTPS server pass ``ca_file`` (and ``cert_file``/``key_file`` when it requires client certificates):
    the CLI's ready line has ``caFile``, ``clientCert`` and ``clientKey``.
    """
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}/_fake/{path.lstrip('/')}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    ctx = None
    if url.startswith("https://"):
        ctx = ssl.create_default_context(cafile=ca_file)
        if cert_file:
            ctx.load_cert_chain(cert_file, key_file)
    with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
        return json.loads(r.read() or b"null")
