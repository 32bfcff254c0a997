"""The fake Kubernetes API server: HTTP(S) front end, discovery, auth, fault injection and the /_fake/ control API.

    with FakeKubeServer() as kube:                       # plain HTTP on 127.0.0.1:<free port>
        kube.write_kubeconfig(tmp / "kubeconfig")
        kube.fail("GET", r"/api/v1/namespaces/[^/]+/pods$", status=429, retry_after=1, count=2)
        kube.drop_watches()
        kube.requests()                                  # what was asked, in order

See README.md in this directory for the whole API.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import re
import select
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from . import errors
from .errors import ApiError
from .kubeconfig import write_kubeconfig
from .resources import ResourceType
from .store import Store
from .tables import to_table
from .tlsutil import CertificateAuthority, CertPair

K8S_VERSION = ("1", "31", "v1.31.0+fakekube")

SUBRESOURCE_DISCOVERY = {
    "status": ("", "", ["get", "patch", "update"]),
    "binding": ("", "Binding", ["create"]),
    "log": ("", "Pod", ["get"]),
    "eviction": ("policy", "Eviction", ["create"]),
    "finalize": ("", "Namespace", ["update"]),
    "scale": ("autoscaling", "Scale", ["get", "patch", "update"]),
}


@dataclass
class FaultRule:
    """One fault: requests whose method and path (and optionally query / watch-ness) match get ``action``."""
    id: int
    method: str = "*"
    path: str = ".*"
    action: str = "fail"  # "fail" (answer ``status``), "delay" (sleep, then serve), "close" (drop the connection)
    status: int = 500
    count: int | None = 1  # remaining matches; None = unlimited
    retry_after: float | None = None
    message: str | None = None
    delay: float = 0.0
    watch: bool | None = None  # None: any request; True: only watches; False: only non-watch requests
    query: str | None = None  # regex searched in the raw query string
    user_agent: str | None = None  # regex searched in the User-Agent header
    hits: int = 0

    def matches(self, method: str, path: str, raw_query: str, is_watch: bool, agent: str, exempt: bool) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.user_agent is not None:
            if not re.search(self.user_agent, agent):
                return False
        elif exempt:
            return False
        if self.method not in ("*", method):
            return False
        if self.watch is not None and self.watch != is_watch:
            return False
        if not re.search(self.path, path):
            return False
        if self.query is not None and not re.search(self.query, raw_query):
            return False
        return True

    def to_json(self) -> dict:
        d = asdict(self)
        d["retryAfter"] = d.pop("retry_after")
        d["userAgent"] = d.pop("user_agent")
        return d


def _first(params: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    v = params.get(key)
    return v[0] if v else default


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("true", "1", "yes")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, fake: "FakeKubeServer", ssl_ctx: ssl.SSLContext | None):
        self.fake = fake
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        try:  # no Nagle: headers and body go out in separate writes, and keep-alive clients ACK late
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_ctx is not None:
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, OSError)):
            return
        if self.fake.verbose:  # pragma: no cover
            traceback.print_exc()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakekube/1"
    server: _Server

    # ------------------------------------------------------------------------------------------------------
    # connection plumbing
    # ------------------------------------------------------------------------------------------------------

    def setup(self):
        self.fake = self.server.fake
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()
        self.fake._connections.add(self.request)

    def finish(self):
        try:
            super().finish()
        finally:
            self.fake._connections.discard(self.request)

    def log_message(self, fmt, *args):  # pragma: no cover - quiet unless asked
        if self.fake.verbose:
            sys.stderr.write("fakekube: " + (fmt % args) + "\n")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self, raw: bytes) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            ct = self.headers.get("Content-Type", "")
            if "yaml" in ct:
                try:
                    import yaml  # type: ignore
                    return yaml.safe_load(raw)
                except Exception:
                    pass
            raise errors.bad_request("the object provided is unrecognized (must be of type JSON): invalid JSON body")

    def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else (json.dumps(payload) + "\n").encode()
        self._log_entry["status"] = code
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        for w in self._warnings:
            self.send_header("Warning", f'299 - {json.dumps(w)}')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, e: ApiError) -> None:
        self._send(e.code, e.status(), e.headers)

    # ------------------------------------------------------------------------------------------------------
    # dispatch
    # ------------------------------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        self._warnings: list[str] = []
        parts = urlsplit(self.path)
        path = unquote(parts.path).rstrip("/") or "/"
        raw_query = parts.query
        params = parse_qs(raw_query, keep_blank_values=True)
        is_watch = _truthy(_first(params, "watch"))
        control = path.startswith("/_fake/")
        user, groups = self._identify()
        self._user, self._groups = user, groups
        self._log_entry = self.fake._log_request(method, path, raw_query, params, is_watch, user,
                                                 self.headers.get("User-Agent", ""), control)
        try:
            body_raw = self._read_body()
            if control:
                return self._control(method, path, params, body_raw)
            if not self._authenticated(user):
                raise errors.unauthorized()
            rule = self.fake._apply_faults(method, path, raw_query, is_watch, self.headers.get("User-Agent", ""))
            if rule is not None:
                self._log_entry["fault"] = rule.id
                if rule.action == "close":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    self._log_entry["status"] = 0
                    return
                if rule.status == 403 and not rule.message:
                    raise errors.forbidden(self._forbidden_message(method, path, params, is_watch, user))
                raise errors.generic(rule.status, rule.message, rule.retry_after)
            self._route(method, path, params, body_raw, is_watch)
        except ApiError as e:
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:  # pragma: no cover - a bug in the fake: say so loudly
            traceback.print_exc()
            try:
                self._send_error(ApiError(500, "InternalError", f"fakekube internal error: {e!r}"))
            except OSError:
                self.close_connection = True

    def _identify(self) -> tuple[str, list[str]]:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                cert = self.connection.getpeercert()
            except (ValueError, OSError):
                cert = None
            if cert:
                cn, orgs = "", []
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                        elif k == "organizationName":
                            orgs.append(v)
                return cn, orgs + ["system:authenticated"]
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            tok = auth[7:].strip()
            if self.fake.token and tok == self.fake.token:
                return self.fake.token_user, ["system:masters", "system:authenticated"]
            return "", []
        return "system:anonymous", ["system:unauthenticated"]

    def _authenticated(self, user: str) -> bool:
        if self.fake.token is None and not self.fake.client_cert_auth:
            return True
        return user not in ("", "system:anonymous")

    def _forbidden_message(self, method, path, params, is_watch, user) -> str:
        try:
            rt, ns, name, sub, _ = self._parse_resource_path(path)
        except ApiError:
            return f'User "{user}" cannot {method.lower()} path "{path}"'
        verb = {"GET": "watch" if is_watch else ("get" if name else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[method]
        res = rt.plural + (f"/{sub}" if sub else "")
        where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
        who = f'{rt.plural} "{name}" is forbidden' if name else f"{rt.plural} is forbidden"
        return f'{who}: User "{user}" cannot {verb} resource "{res}" in API group "{rt.group}"{where}'

    # ------------------------------------------------------------------------------------------------------
    # routing
    # ------------------------------------------------------------------------------------------------------

    def _parse_resource_path(self, path: str):
        segs = [s for s in path.split("/") if s]
        store = self.fake.store
        if segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        else:
            group, version, rest = segs[1], segs[2], segs[3:]
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = store.find_type(group, version, rest[0])
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if ns is not None and not rt.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rt, ns, name, sub, version

    def _route(self, method: str, path: str, params, body_raw: bytes, is_watch: bool) -> None:
        segs = [s for s in path.split("/") if s]
        if path in ("/healthz", "/readyz", "/livez") or path.startswith(("/healthz/", "/readyz/", "/livez/")):
            return self._send(200, b"ok", content_type="text/plain; charset=utf-8")
        if path == "/version":
            major, minor, git = self.fake.k8s_version
            return self._send(200, {"major": major, "minor": minor, "gitVersion": git, "gitCommit": "0" * 40,
                                    "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z",
                                    "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"})
        if segs[:2] == ["openapi", "v3"] and method == "GET":
            doc = self.fake._openapi_v3("/".join(segs[2:]))
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self._send(200, doc)
        if not segs or segs[0] not in ("api", "apis"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if method == "GET":
            if segs == ["api"]:
                return self._send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.fake.host}:{self.fake.port}"}]})
            if segs == ["apis"]:
                return self._send(200, self.fake._group_list())
            if len(segs) == 2 and segs[0] == "apis":
                g = self.fake._group(segs[1])
                if g is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._send(200, dict(g, kind="APIGroup", apiVersion="v1"))
            if (segs[0] == "api" and len(segs) == 2) or (segs[0] == "apis" and len(segs) == 3):
                group = "" if segs[0] == "api" else segs[1]
                doc = self.fake._resource_list(group, segs[-1])
                if doc is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._send(200, doc)
        if (segs[0] == "api" and len(segs) < 3) or (segs[0] == "apis" and len(segs) < 4):
            raise errors.method_not_allowed()
        rt, ns, name, sub, version = self._parse_resource_path(path)
        self._resource(method, rt, ns, name, sub, version, params, body_raw, is_watch)

    def _as_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _present(self, rt: ResourceType, obj: dict, version: str) -> dict:
        if obj.get("apiVersion") != rt.api_version(version):
            obj = dict(obj)
            obj["apiVersion"] = rt.api_version(version)
        return obj

    def _resource(self, method, rt: ResourceType, ns, name, sub, version, params, body_raw, is_watch) -> None:
        store = self.fake.store
        dry_run = bool(params.get("dryRun"))
        fv = _first(params, "fieldValidation")
        if rt.namespaced and ns is None and name is not None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt.virtual:
            if method != "POST" or name is not None:
                raise errors.method_not_allowed()
            review = self._json_body(body_raw) or {}
            review = {"kind": rt.kind, "apiVersion": rt.api_version(version),
                      "metadata": {"creationTimestamp": None}, "spec": review.get("spec") or {}}
            if rt.plural == "selfsubjectreviews":
                review.pop("spec")
                review["status"] = {"userInfo": {"username": self._user, "groups": self._groups}}
            else:
                review["status"] = {"allowed": True, "reason": "fakekube authorizes every authenticated request"}
            return self._send(201, review)
        if method == "GET":
            if name is None:
                if is_watch:
                    return self._serve_watch(rt, ns, version, params)
                lst = store.list(rt, ns, _first(params, "labelSelector"), _first(params, "fieldSelector"),
                                 int(_first(params, "limit") or 0) or None, _first(params, "continue"))
                if self._as_table():
                    return self._send(200, to_table(rt, lst["items"], version, lst["metadata"],
                                                    _first(params, "includeObject", "Metadata")))
                items = []
                for o in lst["items"]:
                    o = self._present(rt, o, version)
                    if not rt.crd_name:
                        o = {k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                    items.append(o)
                return self._send(200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version(version),
                                        "metadata": lst["metadata"], "items": items})
            if sub == "log":
                return self._serve_log(ns, name, params)
            if sub not in (None, "status"):
                raise errors.method_not_allowed()
            obj = store.get(rt, ns, name)
            if self._as_table():
                return self._send(200, to_table(rt, [obj], version, {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                                _first(params, "includeObject", "Metadata")))
            return self._send(200, self._present(rt, obj, version))
        body = self._json_body(body_raw) if method in ("POST", "PUT", "PATCH", "DELETE") else None
        if method == "POST":
            if sub == "binding":
                return self._send(201, store.bind(ns, name, body or {}))
            if sub == "eviction":
                store.get(rt, ns, name)
                store.delete(rt, ns, name, **self._delete_options(params, ((body or {}).get("deleteOptions") or {})))
                return self._send(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                        "code": 201})
            if name is not None or (rt.namespaced and ns is None):
                raise errors.method_not_allowed()
            created = store.create(rt, ns, body, version=version, dry_run=dry_run, field_validation=fv,
                                   warnings=self._warnings)
            return self._send(201, self._present(rt, created, version))
        if method == "PUT":
            if name is None or sub not in (None, "status"):
                raise errors.method_not_allowed()
            updated = store.update(rt, ns, name, body, subresource=sub, version=version, dry_run=dry_run,
                                   field_validation=fv, warnings=self._warnings)
            return self._send(200, self._present(rt, updated, version))
        if method == "PATCH":
            if name is None or sub not in (None, "status"):
                raise errors.method_not_allowed()
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ct == "application/merge-patch+json":
                ptype = "merge"
            elif ct == "application/json-patch+json":
                ptype = "json"
            else:
                raise errors.unsupported_media_type(ct)
            patched = store.patch(rt, ns, name, ptype, body, subresource=sub, version=version, dry_run=dry_run,
                                  field_validation=fv, warnings=self._warnings)
            return self._send(200, self._present(rt, patched, version))
        if method == "DELETE":
            if sub is not None:
                raise errors.method_not_allowed()
            opts = self._delete_options(params, body or {})
            if name is None:
                res = store.delete_collection(rt, ns, _first(params, "labelSelector"),
                                              _first(params, "fieldSelector"), dry_run=dry_run, **opts)
                return self._send(200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version(version),
                                        "metadata": res["metadata"], "items": res["items"]})
            deleted = store.delete(rt, ns, name, dry_run=dry_run, **opts)
            return self._send(200, self._present(rt, deleted, version))
        raise errors.method_not_allowed()

    @staticmethod
    def _delete_options(params, body: dict) -> dict:
        propagation = body.get("propagationPolicy") or _first(params, "propagationPolicy")
        orphan = body.get("orphanDependents")
        if orphan is None and _first(params, "orphanDependents") is not None:
            orphan = _truthy(_first(params, "orphanDependents"))
        if propagation is None and orphan is not None:
            propagation = "Orphan" if orphan else "Background"
        grace = body.get("gracePeriodSeconds")
        if grace is None and _first(params, "gracePeriodSeconds") is not None:
            grace = int(_first(params, "gracePeriodSeconds"))
        return {"propagation": propagation, "grace_period": grace, "preconditions": body.get("preconditions")}

    def _serve_log(self, ns: str, name: str, params) -> None:
        pod = self.fake.store.get(self.fake.store.types[("", "pods")], ns, name)
        text = None
        for kubelet in list(self.fake.kubelets):
            text = kubelet.read_log(ns, name, _first(params, "container"), params)
            if text is not None:
                break
        if text is None:
            cname = _first(params, "container") or (pod["spec"]["containers"][0]["name"])
            raise errors.bad_request(f'container "{cname}" in pod "{name}" is waiting to start: ContainerCreating')
        tail = _first(params, "tailLines")
        if tail:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail):]) if int(tail) > 0 else ""
        return self._send(200, text.encode(errors="replace"), content_type="text/plain")

    # ------------------------------------------------------------------------------------------------------
    # watch
    # ------------------------------------------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _client_gone(self) -> bool:
        sock = self.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not readable:
            return False
        old = sock.gettimeout()
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(0.01)
                data = sock.recv(1)
            else:
                data = sock.recv(1, socket.MSG_PEEK)
        except (ssl.SSLWantReadError, socket.timeout, BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        finally:
            try:
                sock.settimeout(old)
            except OSError:
                pass
        return data == b""

    def _serve_watch(self, rt: ResourceType, ns, version: str, params) -> None:
        store = self.fake.store
        as_table = self._as_table()
        send_initial = _first(params, "sendInitialEvents")
        w, initial, err, initial_end = store.open_watch(
            rt, ns, label_selector=_first(params, "labelSelector"), field_selector=_first(params, "fieldSelector"),
            resource_version=_first(params, "resourceVersion"),
            send_initial_events=_truthy(send_initial) if send_initial is not None else None, version=version,
            user_agent=self.headers.get("User-Agent", ""))
        timeout = _first(params, "timeoutSeconds")
        limit = float(timeout) if timeout else self.fake.default_watch_seconds
        if self.fake.max_watch_seconds is not None:
            limit = min(limit, self.fake.max_watch_seconds)
        bookmarks = _truthy(_first(params, "allowWatchBookmarks"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self._log_entry["status"] = 200
        first = [True]

        def emit(etype: str, obj: dict) -> None:
            if as_table and etype in ("ADDED", "MODIFIED", "DELETED"):
                obj = to_table(rt, [obj], version, {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                               _first(params, "includeObject", "Metadata"), headers=first[0])
                first[0] = False
            elif etype != "ERROR":
                obj = self._present(rt, obj, version)
            self._write_chunk((json.dumps({"type": etype, "object": obj}) + "\n").encode())

        def bookmark(rv: str, annotations: dict | None = None) -> None:
            meta: dict[str, Any] = {"resourceVersion": rv, "creationTimestamp": None}
            if annotations:
                meta["annotations"] = annotations
            obj = {"kind": rt.kind, "apiVersion": rt.api_version(version), "metadata": meta}
            self._write_chunk((json.dumps({"type": "BOOKMARK", "object": obj}) + "\n").encode())

        try:
            if err is not None:
                emit("ERROR", err.status())
                return
            deadline = time.monotonic() + limit
            for etype, obj in initial:
                emit(etype, obj)
            if initial_end and bookmarks:
                bookmark(str(store.rv), {"k8s.io/initial-events-end": "true"})
            interval = self.fake.bookmark_interval
            next_bookmark = time.monotonic() + interval
            next_check = time.monotonic() + 0.5
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline - now, 0.25)
                try:
                    item = w.queue.get(timeout=wait)
                except queue.Empty:
                    item = ()
                if w.closed or item is None:
                    break
                if item:
                    emit(*item)
                now = time.monotonic()
                if bookmarks and now >= next_bookmark:
                    rv = store.bookmark_rv(w)
                    if rv is not None:
                        bookmark(rv)
                        next_bookmark = now + interval
                if now >= next_check:
                    next_check = now + 0.5
                    if self._client_gone():
                        w.abrupt = True
                        break
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            w.abrupt = True
        finally:
            store.close_watch(w)
            if w.abrupt:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                try:
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True

    # ------------------------------------------------------------------------------------------------------
    # /_fake/ control API
    # ------------------------------------------------------------------------------------------------------

    def _control(self, method: str, path: str, params, body_raw: bytes) -> None:
        fake = self.fake
        body = self._json_body(body_raw) or {}
        sub = path[len("/_fake/"):].strip("/")
        if sub == "requests":
            if method == "GET":
                since = int(_first(params, "since") or 0)
                watch = _first(params, "watch")
                items = fake.requests(since=since, method=_first(params, "method"), path=_first(params, "path"),
                                      watch=None if watch is None else _truthy(watch),
                                      user_agent=_first(params, "userAgent"),
                                      include_control=_truthy(_first(params, "includeControl")),
                                      include_internal=_truthy(_first(params, "includeInternal")))
                return self._send(200, {"items": items})
            if method == "DELETE":
                fake.clear_requests()
                return self._send(200, {"cleared": True})
        elif sub == "objects" and method == "GET":
            return self._send(200, {"resourceVersion": str(fake.store.rv), "items": fake.objects()})
        elif sub == "faults":
            if method == "GET":
                return self._send(200, {"items": [r.to_json() for r in fake.faults()]})
            if method == "POST":
                rule = fake.add_fault(
                    method=body.get("method", "*"), path=body.get("path", ".*"), action=body.get("action", "fail"),
                    status=int(body.get("status", 500)), count=body.get("count", 1),
                    retry_after=body.get("retryAfter"), message=body.get("message"),
                    delay=float(body.get("delay", 0)), watch=body.get("watch"), query=body.get("query"),
                    user_agent=body.get("userAgent"))
                return self._send(201, rule.to_json())
            if method == "DELETE":
                fake.clear_faults()
                return self._send(200, {"cleared": True})
        elif sub.startswith("faults/") and method == "DELETE":
            fake.remove_fault(int(sub.split("/", 1)[1]))
            return self._send(200, {"removed": True})
        elif sub == "watches":
            if method == "GET":
                return self._send(200, {"items": fake.open_watches()})
        elif sub == "watches/drop" and method == "POST":
            return self._send(200, {"dropped": fake.drop_watches(abrupt=bool(body.get("abrupt")))})
        elif sub == "history/expire" and method == "POST":
            return self._send(200, {"compactedResourceVersion": str(fake.expire_history())})
        elif sub == "state" and method == "GET":
            return self._send(200, fake.state())
        elif sub == "kubelet/pods" and method == "GET":
            return self._send(200, {"items": [p for k in list(fake.kubelets) for p in k.pods()]})
        elif sub == "kubelet/kill" and method == "POST":
            sig = body.get("signal", "SIGKILL")
            signum = getattr(signal, sig) if isinstance(sig, str) else int(sig)
            killed = any(k.kill(body["namespace"], body["name"], signum) for k in list(fake.kubelets))
            return self._send(200 if killed else 404, {"killed": killed})
        else:
            for prefix, handler in fake._control_handlers.items():
                if sub == prefix or sub.startswith(prefix + "/"):
                    code, payload = handler(method, sub[len(prefix):].strip("/"), body, params)
                    return self._send(code, payload)
            raise ApiError(404, "NotFound", f"no fakekube control endpoint {method} {path}")
        raise errors.method_not_allowed()


class FakeKubeServer:
    """A fake kube-apiserver on 127.0.0.1.

    tls: serve HTTPS with a certificate for 127.0.0.1/localhost signed by a throw-away CA (``ca_file``).
    client_cert_auth: require and verify client certificates signed by that CA (implies tls). ``client_cert``
        is a ready-made admin certificate (CN=fakekube-admin, O=system:masters); issue more with
        :meth:`issue_client_cert`.
    token: require ``Authorization: Bearer <token>`` (a verified client certificate also authenticates).
    graceful_pod_deletion: DELETE of a running pod only sets deletionTimestamp; the kubelet double stops the
        process and removes the pod (real kubelet behaviour). Off by default: pods go at once.
    history_limit: how many events the watch history keeps (older resourceVersions get 410 Expired).
    bookmark_interval: seconds between BOOKMARK events on watches that allow them.
    max_watch_seconds: end every watch after this long (the stream may end at any time; clients must resume).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False, client_cert_auth: bool = False,
                 token: str | None = None, token_user: str = "fakekube-admin", history_limit: int = 5000,
                 bookmark_interval: float = 1.0, default_watch_seconds: float = 1800.0,
                 max_watch_seconds: float | None = None, graceful_pod_deletion: bool = False,
                 workdir: str | os.PathLike | None = None, k8s_version: tuple[str, str, str] = K8S_VERSION,
                 verbose: bool = False):
        self.host = host
        self._requested_port = port
        self.tls = tls or client_cert_auth
        self.client_cert_auth = client_cert_auth
        self.token = token
        self.token_user = token_user
        self.bookmark_interval = bookmark_interval
        self.default_watch_seconds = default_watch_seconds
        self.max_watch_seconds = max_watch_seconds
        self.k8s_version = k8s_version
        self.verbose = verbose
        self.fault_exempt_user_agent: str | None = r"^fakekube-"
        self.store = Store(history_limit=history_limit, graceful_pod_deletion=graceful_pod_deletion)
        self.store.type_listeners.append(self._invalidate_discovery)
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="fakekube-"))
        self.ca: CertificateAuthority | None = None
        self.server_cert: CertPair | None = None
        self.client_cert: CertPair | None = None
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set = set()
        self._log: list[dict] = []
        self._log_lock = threading.Lock()
        self._seq = itertools.count(1)
        self._faults: list[FaultRule] = []
        self._fault_ids = itertools.count(1)
        self._fault_lock = threading.Lock()
        self._control_handlers: dict[str, Callable] = {}
        self._discovery_cache: dict | None = None
        self.kubelets: list = []  # FakeKubelet instances in this process (pods/log, /_fake/kubelet/...)
        self.request_log_limit = 100_000
        self.port = 0

    # ------------------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------------------

    def start(self) -> "FakeKubeServer":
        ctx = None
        if self.tls:
            self.ca = CertificateAuthority(self.workdir / "pki")
            self.server_cert = self.ca.issue("apiserver", "fakekube-apiserver", server=True)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(self.server_cert.cert), str(self.server_cert.key))
            self.client_cert = self.ca.issue("admin", "fakekube-admin", orgs=("system:masters",))
            if self.client_cert_auth:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(str(self.ca.cert))
            else:
                ctx.verify_mode = ssl.CERT_OPTIONAL
                ctx.load_verify_locations(str(self.ca.cert))
        self._httpd = _Server((self.host, self._requested_port), _Handler, self, ctx)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"fakekube-{self.port}", daemon=True)
        self._thread.start()
        self.store.start_controllers()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.store.drop_watches(abrupt=True)
        self._httpd.shutdown()
        self._httpd.server_close()
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.store.stop_controllers()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "FakeKubeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.ca.cert if self.ca else None

    def issue_client_cert(self, user: str, groups: tuple[str, ...] = ()) -> CertPair:
        if self.ca is None:
            raise RuntimeError("client certificates need tls=True")
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", user) + "-" + uuid.uuid4().hex[:6]
        return self.ca.issue(stem, user, orgs=tuple(groups))

    def write_kubeconfig(self, path: str | os.PathLike, *, cert: CertPair | None = None, token: str | None = None,
                         namespace: str = "default", embed: bool = False, client_cert: bool = True) -> Path:
        """A kubeconfig for this server with its admin credentials (or ``cert`` / ``token``).

        ``client_cert=False`` leaves the admin client certificate out (token-only over TLS). Note that kubectl
        (client-go) does not send bearer tokens over plain HTTP: use ``tls=True`` with ``token``.
        """
        if cert is None and self.tls and client_cert:
            cert = self.client_cert
        return write_kubeconfig(path, self.url, ca_file=self.ca_file,
                                cert_file=cert.cert if cert else None, key_file=cert.key if cert else None,
                                token=token if token is not None else self.token, namespace=namespace, embed=embed)

    def client_credentials(self) -> dict:
        """What an HTTP client needs: {server, ca_file, cert_file, key_file, token}."""
        return {"server": self.url, "ca_file": str(self.ca_file) if self.ca_file else None,
                "cert_file": str(self.client_cert.cert) if self.client_cert else None,
                "key_file": str(self.client_cert.key) if self.client_cert else None, "token": self.token}

    def add_control_handler(self, prefix: str, handler: Callable) -> None:
        """Serve ``/_fake/<prefix>/...`` with ``handler(method, subpath, body, params) -> (code, json)``."""
        self._control_handlers[prefix.strip("/")] = handler

    # ------------------------------------------------------------------------------------------------------
    # discovery documents
    # ------------------------------------------------------------------------------------------------------

    def _invalidate_discovery(self) -> None:
        self._discovery_cache = None

    def _group_list(self) -> dict:
        gvs = self.store.group_versions()
        groups = []
        for g in sorted(k for k in gvs if k):
            groups.append(self._group(g))
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [g for g in groups if g]}

    def _group(self, group: str) -> dict | None:
        with self.store.lock:
            vs: list[str] = []
            preferred = None
            for rt in self.store.types.values():
                if rt.group == group:
                    for v in rt.versions:
                        if v not in vs:
                            vs.append(v)
                    preferred = preferred or rt.storage_version
        if not vs:
            return None
        return {"name": group, "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in vs],
                "preferredVersion": {"groupVersion": f"{group}/{preferred}", "version": preferred}}

    def _resource_list(self, group: str, version: str) -> dict | None:
        resources = []
        with self.store.lock:
            rts = [rt for rt in self.store.types.values() if rt.group == group and version in rt.versions]
        if not rts:
            return None
        for rt in sorted(rts, key=lambda r: r.plural):
            entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
                     "verbs": list(rt.verbs)}
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            for sub in sorted(rt.subresources):
                sgroup, skind, verbs = SUBRESOURCE_DISCOVERY.get(sub, ("", "", ["get"]))
                s = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                     "kind": skind or rt.kind, "verbs": verbs}
                if sgroup:
                    s["group"], s["version"] = sgroup, "v1"
                resources.append(s)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _openapi_v3(self, gv_path: str) -> dict | None:
        """A minimal OpenAPI v3: enough for kubectl to see that PATCH takes ``fieldValidation`` (so it validates
        on the server) and that strategic merge patch is *not* accepted. Schemas are stubs."""
        with self.store.lock:
            rts = list(self.store.types.values())
        gvs: dict[str, list[tuple[ResourceType, str]]] = {}
        for rt in rts:
            for v in rt.versions:
                key = f"apis/{rt.group}/{v}" if rt.group else f"api/{v}"
                gvs.setdefault(key, []).append((rt, v))
        if gv_path == "":
            return {"paths": {k: {"serverRelativeURL": f"/openapi/v3/{k}?hash={abs(hash(k)) % 10 ** 12:012d}"}
                              for k in sorted(gvs)}}
        if gv_path not in gvs:
            return None
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation")]
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = {}
        for rt, v in gvs[gv_path]:
            gvk = {"group": rt.group, "version": v, "kind": rt.kind}
            base = f"/{gv_path}/" + ("namespaces/{namespace}/" if rt.namespaced else "") + rt.plural
            ref = f"io.fakekube.{rt.group or 'core'}.{v}.{rt.kind}"
            schemas[ref] = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
                            "x-kubernetes-preserve-unknown-fields": True}
            body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
            ok = {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{ref}"}}}}}

            def op(action: str, **extra) -> dict:
                d = {"operationId": f"{action}{rt.kind}", "x-kubernetes-action": action,
                     "x-kubernetes-group-version-kind": gvk, "parameters": params, "responses": ok}
                d.update(extra)
                return d
            paths[base] = {"get": op("list"), "post": op("post", requestBody=body)}
            paths[base + "/{name}"] = {
                "get": op("get"), "put": op("put", requestBody=body), "delete": op("delete"),
                "patch": op("patch", requestBody={"content": {"application/json-patch+json": {"schema": {
                    "type": "object"}}, "application/merge-patch+json": {"schema": {"type": "object"}}}})}
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes (fakekube)", "version": self.k8s_version[2]},
                "paths": paths, "components": {"schemas": schemas}}

    # ------------------------------------------------------------------------------------------------------
    # request log
    # ------------------------------------------------------------------------------------------------------

    def _log_request(self, method, path, raw_query, params, is_watch, user, agent, control) -> dict:
        entry = {"seq": next(self._seq), "time": time.time(), "method": method, "path": path, "query": raw_query,
                 "params": {k: v[0] if len(v) == 1 else v for k, v in params.items()}, "watch": is_watch,
                 "user": user, "userAgent": agent, "status": None, "control": control,
                 "internal": bool(self.fault_exempt_user_agent and re.search(self.fault_exempt_user_agent, agent))}
        with self._log_lock:
            self._log.append(entry)
            if len(self._log) > self.request_log_limit:
                del self._log[: len(self._log) - self.request_log_limit]
        return entry

    def requests(self, *, since: int = 0, method: str | None = None, path: str | None = None,
                 watch: bool | None = None, user_agent: str | None = None, include_control: bool = False,
                 include_internal: bool = False) -> list[dict]:
        """Logged API requests in arrival order, as dicts {seq, time, method, path, query, params, watch, user,
        userAgent, status, control, internal}. ``path`` / ``user_agent`` are regexes (searched).

        Requests from fakekube's own components (the kubelet double: ``internal``) and /_fake/ control calls are
        left out unless asked for, so that counts reflect the code under test.
        """
        with self._log_lock:
            items = [dict(e) for e in self._log if e["seq"] > since]
        return [e for e in items
                if (include_control or not e["control"]) and (include_internal or not e["internal"])
                and (method is None or e["method"] == method)
                and (path is None or re.search(path, e["path"])) and (watch is None or e["watch"] == watch)
                and (user_agent is None or re.search(user_agent, e["userAgent"]))]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    # ------------------------------------------------------------------------------------------------------
    # fault injection
    # ------------------------------------------------------------------------------------------------------

    def add_fault(self, *, method: str = "*", path: str = ".*", action: str = "fail", status: int = 500,
                  count: int | None = 1, retry_after: float | None = None, message: str | None = None,
                  delay: float = 0.0, watch: bool | None = None, query: str | None = None,
                  user_agent: str | None = None) -> FaultRule:
        """The general form of :meth:`fail`, :meth:`delay` and :meth:`close_connections`.

        Requests from fakekube's own components (User-Agent matching ``fault_exempt_user_agent``, by default
        ``^fakekube-``: the kubelet double) are only affected by rules whose ``user_agent`` matches them.
        """
        if action not in ("fail", "delay", "close"):
            raise ValueError(f"unknown fault action {action!r}")
        re.compile(path)
        rule = FaultRule(next(self._fault_ids), method.upper(), path, action, int(status),
                         None if count is None else int(count), retry_after, message, float(delay), watch, query,
                         user_agent)
        with self._fault_lock:
            self._faults.append(rule)
        return rule

    def fail(self, method: str = "*", path: str = ".*", *, status: int = 500, count: int | None = 1,
             retry_after: float | None = None, message: str | None = None, watch: bool | None = None,
             query: str | None = None, user_agent: str | None = None) -> FaultRule:
        """The next ``count`` matching requests get ``status`` (a kind: Status with the real reason)."""
        return self.add_fault(method=method, path=path, status=status, count=count, retry_after=retry_after,
                              message=message, watch=watch, query=query, user_agent=user_agent)

    def delay(self, seconds: float, method: str = "*", path: str = ".*", *, count: int | None = None,
              watch: bool | None = None, user_agent: str | None = None) -> FaultRule:
        """Matching requests are answered ``seconds`` late (``count=None``: until removed)."""
        return self.add_fault(method=method, path=path, action="delay", delay=seconds, count=count, watch=watch,
                              user_agent=user_agent)

    def close_connections(self, method: str = "*", path: str = ".*", *, count: int | None = 1,
                          watch: bool | None = None, user_agent: str | None = None) -> FaultRule:
        """Matching requests get no answer: the connection is closed (as on an API server restart)."""
        return self.add_fault(method=method, path=path, action="close", count=count, watch=watch,
                              user_agent=user_agent)

    def faults(self) -> list[FaultRule]:
        with self._fault_lock:
            return list(self._faults)

    def remove_fault(self, rule_id: int) -> None:
        with self._fault_lock:
            self._faults = [r for r in self._faults if r.id != rule_id]

    def clear_faults(self) -> None:
        with self._fault_lock:
            self._faults.clear()

    def _apply_faults(self, method, path, raw_query, is_watch, agent) -> FaultRule | None:
        delay = 0.0
        chosen = None
        exempt = bool(self.fault_exempt_user_agent and re.search(self.fault_exempt_user_agent, agent))
        with self._fault_lock:
            for rule in self._faults:
                if not rule.matches(method, path, raw_query, is_watch, agent, exempt):
                    continue
                if rule.action == "delay":
                    delay += rule.delay
                elif chosen is None:
                    chosen = rule
                else:
                    continue
                rule.hits += 1
                if rule.count is not None:
                    rule.count -= 1
        if delay > 0:
            time.sleep(delay)
        return chosen

    def drop_watches(self, abrupt: bool = False) -> int:
        """End every open watch stream now (cleanly, or ``abrupt``: connection reset). Returns how many."""
        return self.store.drop_watches(abrupt=abrupt)

    def expire_history(self) -> int:
        """Compact the watch history: resuming from any older resourceVersion gets ERROR 410 Expired."""
        return self.store.expire_history()

    def open_watches(self) -> list[dict]:
        with self.store.lock:
            ws = list(self.store.watches)
        return [{"id": w.id, "resource": w.rt.group_resource, "namespace": w.namespace, "since": w.started,
                 "userAgent": w.user_agent} for w in ws]

    def state(self) -> dict:
        return {"url": self.url, "resourceVersion": str(self.store.rv), "watches": len(self.store.watches),
                "objects": sum(len(v) for v in self.store.objects.values()), "pid": os.getpid()}

    # ------------------------------------------------------------------------------------------------------
    # direct object access (same semantics as the HTTP API, without HTTP)
    # ------------------------------------------------------------------------------------------------------

    def objects(self) -> list[dict]:
        return self.store.all_objects()

    def resource_type(self, api_version: str, kind_or_plural: str) -> ResourceType:
        group, _, version = api_version.rpartition("/")
        rt = self.store.type_for_kind(api_version, kind_or_plural) or self.store.find_type(group, version,
                                                                                           kind_or_plural)
        if rt is None:
            raise KeyError(f"no resource {kind_or_plural} in {api_version}")
        return rt

    def create_object(self, obj: dict, namespace: str | None = None) -> dict:
        rt = self.resource_type(obj["apiVersion"], obj["kind"])
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or ("default" if rt.namespaced else None)
        return self.store.create(rt, ns, obj, version=obj["apiVersion"].rpartition("/")[2])

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        rt = self.resource_type(api_version, kind)
        try:
            return self.store.get(rt, namespace or ("default" if rt.namespaced else None), name)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None,
                     label_selector: str | None = None, field_selector: str | None = None) -> list[dict]:
        rt = self.resource_type(api_version, kind)
        return self.store.list(rt, namespace, label_selector, field_selector)["items"]

    def update_object(self, obj: dict, subresource: str | None = None) -> dict:
        rt = self.resource_type(obj["apiVersion"], obj["kind"])
        m = obj["metadata"]
        return self.store.update(rt, m.get("namespace"), m["name"], obj, subresource=subresource)

    def patch_object(self, api_version: str, kind: str, name: str, patch: Any, namespace: str | None = None,
                     patch_type: str = "merge", subresource: str | None = None) -> dict:
        rt = self.resource_type(api_version, kind)
        return self.store.patch(rt, namespace or ("default" if rt.namespaced else None), name, patch_type, patch,
                                subresource=subresource)

    def delete_object(self, api_version: str, kind: str, name: str, namespace: str | None = None,
                      propagation: str | None = None, grace_period: int | None = None) -> dict:
        rt = self.resource_type(api_version, kind)
        return self.store.delete(rt, namespace or ("default" if rt.namespaced else None), name,
                                 propagation=propagation, grace_period=grace_period)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
                 message: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {message}")
            time.sleep(interval)
