"""Command line: run the fake API server (and optionally the kubelet double) until SIGTERM / SIGINT.

    .venv/bin/python -m tests.fakekube --kubelet --kubeconfig /tmp/fk/kubeconfig
    .venv/bin/python -m tests.fakekube --tls --client-cert-auth --kubelet --kubeconfig /tmp/fk/kubeconfig
    .venv/bin/python -m tests.fakekube kubelet --kubeconfig /tmp/fk/kubeconfig --node-name node-2

When ready it prints one JSON line on stdout: {"url", "kubeconfig", "control", "caFile", "pid", ...}
(also written to --info-file). See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path


def _load_manifests(paths: list[str]) -> list[dict]:
    docs: list[dict] = []
    for p in paths:
        text = Path(p).read_text()
        try:
            data = json.loads(text)
            items = data.get("items") if isinstance(data, dict) and data.get("kind", "").endswith("List") else [data]
        except ValueError:
            import yaml  # type: ignore  (PyYAML: in the test venv, through the kubernetes client)
            items = [d for d in yaml.safe_load_all(text) if d]
        docs.extend(items)
    return docs


def _kubelet_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-name", default="fake-node")
    parser.add_argument("--python", default=sys.executable, help="what `python`/`python3` in pod commands become")
    parser.add_argument("--backoff-base", type=float, default=0.5, help="CrashLoopBackOff / ImagePullBackOff base")
    parser.add_argument("--backoff-max", type=float, default=5.0)
    parser.add_argument("--scale-up-seconds", type=float, default=2.0)
    parser.add_argument("--kill-grace", type=float, default=3.0)
    parser.add_argument("--ip-prefix", default="127.0.0")
    parser.add_argument("--ip-start", type=int, default=2)
    parser.add_argument("--gpus", default="0", help="nvidia.com/gpu capacity of the node")
    parser.add_argument("--keep-pod-dirs", action="store_true")


def _kubelet_kwargs(args) -> dict:
    return {"node_name": args.node_name, "python": args.python, "backoff_base": args.backoff_base,
            "backoff_max": args.backoff_max, "scale_up_seconds": args.scale_up_seconds,
            "kill_grace": args.kill_grace, "ip_prefix": args.ip_prefix, "ip_start": args.ip_start,
            "capacity": {"nvidia.com/gpu": args.gpus}, "keep_pod_dirs": args.keep_pod_dirs}


def _wait_for_signal(stop_on_stdin_eof: bool) -> None:
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    if stop_on_stdin_eof:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(1):
                    pass
            finally:
                done.set()
        threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(0.5):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A real API server stores JSON up to 10000 levels deep; the controller tests store a few hundred.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    threading.stack_size(64 * 1024 * 1024)
    from .kubelet import FakeKubelet
    from .server import FakeKubeServer

    if argv and argv[0] == "kubelet":
        p = argparse.ArgumentParser(prog="python -m tests.fakekube kubelet",
                                    description="Run the kubelet double against an API server.")
        p.add_argument("--kubeconfig", required=True)
        p.add_argument("--stop-on-stdin-eof", action="store_true")
        _kubelet_args(p)
        args = p.parse_args(argv[1:])
        kubelet = FakeKubelet(kubeconfig=args.kubeconfig, **_kubelet_kwargs(args)).start()
        print(json.dumps({"node": args.node_name, "pid": os.getpid()}), flush=True)
        try:
            _wait_for_signal(args.stop_on_stdin_eof)
        finally:
            kubelet.stop()
        return 0

    if argv and argv[0] == "serve":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="python -m tests.fakekube",
                                description="Run the fake Kubernetes API server (and the kubelet double).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port")
    p.add_argument("--tls", action="store_true", help="HTTPS with a generated CA and server certificate")
    p.add_argument("--client-cert-auth", action="store_true", help="require client certificates (implies --tls)")
    p.add_argument("--token", help="require this bearer token (a client certificate also authenticates)")
    p.add_argument("--kubeconfig", help="write a kubeconfig (admin credentials) here")
    p.add_argument("--embed-certs", action="store_true", help="inline the certificates in the kubeconfig")
    p.add_argument("--info-file", help="also write the JSON ready line to this file")
    p.add_argument("--workdir", help="certificates and pod directories (default: a temp dir, removed at exit)")
    p.add_argument("--apply", action="append", default=[], metavar="FILE",
                   help="create the objects in this JSON/YAML file at start (repeatable; CRDs first)")
    p.add_argument("--graceful-pod-deletion", action="store_true")
    p.add_argument("--history-limit", type=int, default=5000)
    p.add_argument("--bookmark-interval", type=float, default=1.0)
    p.add_argument("--max-watch-seconds", type=float, default=None)
    p.add_argument("--kubelet", action="store_true", help="also run the kubelet double in this process")
    p.add_argument("--stop-on-stdin-eof", action="store_true", help="exit when stdin closes (parent died)")
    p.add_argument("--verbose", action="store_true")
    _kubelet_args(p)
    args = p.parse_args(argv)

    server = FakeKubeServer(host=args.host, port=args.port, tls=args.tls, client_cert_auth=args.client_cert_auth,
                            token=args.token, history_limit=args.history_limit,
                            bookmark_interval=args.bookmark_interval, max_watch_seconds=args.max_watch_seconds,
                            graceful_pod_deletion=args.graceful_pod_deletion,
                            workdir=args.workdir, verbose=args.verbose).start()
    kubelet = None
    try:
        docs = _load_manifests(args.apply)
        docs.sort(key=lambda d: 0 if d.get("kind") in ("CustomResourceDefinition", "Namespace") else 1)
        for doc in docs:
            server.create_object(doc)
        kubeconfig = None
        if args.kubeconfig:
            kubeconfig = str(server.write_kubeconfig(args.kubeconfig, embed=args.embed_certs))
        if args.kubelet:
            kw = _kubelet_kwargs(args)
            if args.workdir:
                kw["workdir"] = Path(args.workdir) / "kubelet"
            kubelet = FakeKubelet(server, **kw).start()
        info = {"url": server.url, "host": server.host, "port": server.port, "kubeconfig": kubeconfig,
                "control": server.url + "/_fake/", "caFile": str(server.ca_file) if server.ca_file else None,
                "clientCert": str(server.client_cert.cert) if server.client_cert else None,
                "clientKey": str(server.client_cert.key) if server.client_cert else None,
                "token": server.token, "kubelet": bool(kubelet), "pid": os.getpid()}
        line = json.dumps(info)
        if args.info_file:  # atomically: a reader polling for the file never sees half of it
            tmp = Path(args.info_file).with_name(Path(args.info_file).name + ".tmp")
            tmp.write_text(line + "\n")
            os.replace(tmp, args.info_file)
        print(line, flush=True)
        _wait_for_signal(args.stop_on_stdin_eof)
    finally:
        if kubelet is not None:
            kubelet.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
