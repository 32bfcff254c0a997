"""A small standard-library Kubernetes REST client: what the kubelet double uses to talk to the API server.

It retries 429 / 5xx answers (honouring ``Retry-After``) and connection failures a bounded number of times, and
streams watches line by line. It is deliberately independent of the server code: it only speaks HTTP.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from typing import Any, Iterator
from urllib.parse import urlencode, urlsplit


class KubeClientError(Exception):
    def __init__(self, status: int, body: Any):
        self.status = status
        self.body = body
        reason = body.get("reason") if isinstance(body, dict) else ""
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{status} {reason}: {message}")

    @property
    def reason(self) -> str:
        return self.body.get("reason", "") if isinstance(self.body, dict) else ""


class KubeClient:
    def __init__(self, server: str, *, ca_file: str | None = None, cert_file: str | None = None,
                 key_file: str | None = None, token: str | None = None, insecure: bool = False,
                 timeout: float = 15.0, user_agent: str = "fakekube-client/1", retries: int = 8):
        u = urlsplit(server)
        self.scheme = u.scheme
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.token = token
        self.timeout = timeout
        self.user_agent = user_agent
        self.retries = retries
        self._ctx: ssl.SSLContext | None = None
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_file)
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cert_file:
                ctx.load_cert_chain(cert_file, key_file)
            self._ctx = ctx
        self._local = threading.local()
        self._watch_conns: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, path: str, **kw) -> "KubeClient":
        from .kubeconfig import read_kubeconfig
        cfg = read_kubeconfig(path)
        return cls(cfg["server"], ca_file=cfg["ca_file"], cert_file=cfg["cert_file"], key_file=cfg["key_file"],
                   token=cfg["token"], insecure=cfg["insecure"], **kw)

    def _new_conn(self, timeout: float | None) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self._ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self, content_type: str | None) -> dict[str, str]:
        h = {"Accept": "application/json", "User-Agent": self.user_agent}
        if content_type:
            h["Content-Type"] = content_type
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        return h

    def request(self, method: str, path: str, body: Any = None, *, params: dict | None = None,
                content_type: str = "application/json") -> Any:
        """JSON in, JSON out; raises KubeClientError for an error status after retrying 429/5xx."""
        url = path + ("?" + urlencode(params) if params else "")
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        attempt = 0
        while True:
            attempt += 1
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = self._new_conn(self.timeout)
            try:
                conn.request(method, url, body=payload, headers=self._headers(content_type if payload else None))
                resp = conn.getresponse()
                raw = resp.read()
                status = resp.status
                retry_after = resp.getheader("Retry-After")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self._local.conn = None
            except (OSError, http.client.HTTPException):
                try:
                    conn.close()
                finally:
                    self._local.conn = None
                if attempt > self.retries:
                    raise
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
                continue
            ctype = resp.getheader("Content-Type", "")
            data: Any = raw.decode(errors="replace")
            if "json" in ctype and raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    pass
            if status == 429 or status >= 500:
                if attempt <= self.retries:
                    try:
                        wait = float(retry_after) if retry_after else 0.1 * attempt
                    except ValueError:
                        wait = 0.5
                    time.sleep(min(wait, 5.0))
                    continue
            if status >= 400:
                raise KubeClientError(status, data)
            return data

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def merge_patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def delete(self, path: str, body: Any = None) -> Any:
        return self.request("DELETE", path, body)

    def watch(self, path: str, params: dict | None = None, read_timeout: float = 60.0) -> Iterator[dict]:
        """Yields watch events until the server ends the stream (or :meth:`abort_watches` is called)."""
        q = dict(params or {})
        q["watch"] = "true"
        conn = self._new_conn(read_timeout)
        with self._lock:
            self._watch_conns.add(conn)
        try:
            conn.request("GET", path + "?" + urlencode(q), headers=self._headers(None))
            resp = conn.getresponse()
            if resp.status >= 400:
                raw = resp.read()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                raise KubeClientError(resp.status, body)
            while True:
                line = resp.readline()
                if not line:
                    return
                line = line.strip()
                if line:
                    yield json.loads(line)
        finally:
            with self._lock:
                self._watch_conns.discard(conn)
            conn.close()

    def abort_watches(self) -> None:
        with self._lock:
            conns = list(self._watch_conns)
        for c in conns:
            try:
                if c.sock is not None:
                    c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.abort_watches()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
