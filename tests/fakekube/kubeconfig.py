"""Kubeconfig files for the fake API server (read by kubectl, the Python ``kubernetes`` client and the gateway)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any


def _q(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars
    return json.dumps(str(value))


def write_kubeconfig(path: str | os.PathLike, server: str, *, ca_file: str | os.PathLike | None = None,
                     cert_file: str | os.PathLike | None = None, key_file: str | os.PathLike | None = None,
                     token: str | None = None, namespace: str | None = "default", insecure: bool = False,
                     embed: bool = False, context: str = "fakekube", cluster: str = "fakekube",
                     user: str = "fakekube-user") -> Path:
    """Write a single-context kubeconfig. ``embed=True`` inlines the certificates as ``*-data`` (base64)."""
    def file_or_data(key: str, p: str | os.PathLike | None) -> list[str]:
        if p is None:
            return []
        if embed:
            return [f"    {key}-data: {_q(base64.b64encode(Path(p).read_bytes()).decode())}"]
        return [f"    {key}: {_q(os.fspath(Path(p).resolve()))}"]

    lines = ["apiVersion: v1", "kind: Config", "clusters:", f"- name: {_q(cluster)}", "  cluster:",
             f"    server: {_q(server)}"]
    if ca_file is not None:
        lines += file_or_data("certificate-authority", ca_file)
    if insecure:
        lines.append("    insecure-skip-tls-verify: true")
    lines += ["users:", f"- name: {_q(user)}"]
    user_lines = file_or_data("client-certificate", cert_file) + file_or_data("client-key", key_file)
    if token:
        user_lines.append(f"    token: {_q(token)}")
    lines += (["  user:"] + user_lines) if user_lines else ["  user: {}"]
    lines += ["contexts:", f"- name: {_q(context)}", "  context:", f"    cluster: {_q(cluster)}",
              f"    user: {_q(user)}"]
    if namespace:
        lines.append(f"    namespace: {_q(namespace)}")
    lines += [f"current-context: {_q(context)}", "preferences: {}", ""]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    os.chmod(out, 0o600)
    return out


def read_kubeconfig(path: str | os.PathLike) -> dict[str, Any]:
    """Minimal reader for the current context: {server, ca_file, cert_file, key_file, token, namespace, insecure}.

    Uses PyYAML when installed; otherwise only files written by :func:`write_kubeconfig` can be read.
    """
    text = Path(path).read_text()
    try:
        import yaml  # type: ignore
        cfg = yaml.safe_load(text)
    except ImportError:  # pragma: no cover
        cfg = _parse_own_yaml(text)
    ctx_name = cfg.get("current-context")
    ctx = next((c["context"] for c in cfg.get("contexts") or [] if c.get("name") == ctx_name), {})
    cl = next((c["cluster"] for c in cfg.get("clusters") or [] if c.get("name") == ctx.get("cluster")), {})
    us = next((u.get("user") or {} for u in cfg.get("users") or [] if u.get("name") == ctx.get("user")), {})
    base = Path(path).resolve().parent
    out: dict[str, Any] = {"server": cl.get("server"), "namespace": ctx.get("namespace") or "default",
                           "insecure": bool(cl.get("insecure-skip-tls-verify")), "token": us.get("token")}
    materialised = base / ".fakekube-kubeconfig-data"
    for key, src, data in (("ca_file", cl.get("certificate-authority"), cl.get("certificate-authority-data")),
                           ("cert_file", us.get("client-certificate"), us.get("client-certificate-data")),
                           ("key_file", us.get("client-key"), us.get("client-key-data"))):
        if data:
            materialised.mkdir(exist_ok=True)
            p = materialised / key
            p.write_bytes(base64.b64decode(data))
            out[key] = str(p)
        elif src:
            out[key] = str((base / src) if not os.path.isabs(src) else Path(src))
        else:
            out[key] = None
    return out


def _parse_own_yaml(text: str) -> dict:  # pragma: no cover - fallback without PyYAML
    cfg: dict[str, Any] = {"clusters": [{"cluster": {}}], "users": [{"user": {}}], "contexts": [{"context": {}}]}
    section = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" ") and not line.startswith("-"):
            k, _, v = line.partition(":")
            section = k
            if v.strip():
                cfg[k] = json.loads(v.strip()) if v.strip().startswith('"') else v.strip()
            continue
        k, _, v = line.strip().lstrip("- ").partition(":")
        v = v.strip()
        val: Any = json.loads(v) if v.startswith('"') else (v == "true" if v in ("true", "false") else v)
        target = cfg.get(section)
        if isinstance(target, list):
            entry = target[0]
            inner = {"clusters": "cluster", "users": "user", "contexts": "context"}[section]
            if k == "name":
                entry["name"] = val
            elif k != inner:
                entry[inner][k] = val
    return cfg
