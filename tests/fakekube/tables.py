"""``meta.k8s.io/v1`` Table responses, which kubectl asks for (``Accept: application/json;as=Table;...``)."""

from __future__ import annotations

import re
import time
from typing import Any

from .resources import ResourceType


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def _age(obj: dict) -> str:
    from .store import parse_time
    ts = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    return "<unknown>" if ts is None else human_duration(time.time() - ts)


def _col(name: str, typ: str = "string", priority: int = 0, fmt: str = "", desc: str = "") -> dict:
    return {"name": name, "type": typ, "format": fmt, "description": desc or name, "priority": priority}


NAME_COL = _col("Name", fmt="name", desc="Name must be unique within a namespace.")
AGE_COL = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when this object was created.")


def _pod_row(pod: dict) -> list:
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    cstatuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in cstatuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in cstatuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False" and reason == "Pending":
            reason = "Pending"
    running = False
    for c in reversed(cstatuses):
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            t = state["terminated"]
            reason = t.get("reason") or (f"Signal:{t['signal']}" if t.get("signal") else f"ExitCode:{t.get('exitCode')}")
        elif state.get("running") and c.get("ready"):
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, restarts, _age(pod),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", "<none>"]


POD_COLS = [NAME_COL, _col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", desc="The aggregate status of the containers in this pod."),
            _col("Restarts", typ="string", desc="The number of times the containers in this pod have been restarted."),
            AGE_COL, _col("IP", priority=1), _col("Node", priority=1), _col("Nominated Node", priority=1),
            _col("Readiness Gates", priority=1)]


def _jsonpath(obj: Any, path: str) -> Any:
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    cur = obj
    for token in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path):
        key, idx = token
        if key:
            cur = cur.get(key) if isinstance(cur, dict) else None
        else:
            i = int(idx)
            cur = cur[i] if isinstance(cur, list) and i < len(cur) else None
        if cur is None:
            return None
    return cur


def _generic(rt: ResourceType, version: str) -> tuple[list[dict], Any]:
    key = rt.key
    if key == ("", "pods"):
        return POD_COLS, _pod_row
    if key == ("", "namespaces"):
        return [NAME_COL, _col("Status"), AGE_COL], lambda o: [o["metadata"]["name"],
                                                              (o.get("status") or {}).get("phase", ""), _age(o)]
    if key == ("", "secrets"):
        return [NAME_COL, _col("Type"), _col("Data", "integer"), AGE_COL], lambda o: [
            o["metadata"]["name"], o.get("type", ""), len(o.get("data") or {}), _age(o)]
    if key == ("", "configmaps"):
        return [NAME_COL, _col("Data", "integer"), AGE_COL], lambda o: [
            o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o)]
    if key == ("", "services"):
        def svc(o):
            spec = o.get("spec") or {}
            ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or [])
            return [o["metadata"]["name"], spec.get("type", ""), spec.get("clusterIP", ""), "<none>",
                    ports or "<none>", _age(o)]
        return [NAME_COL, _col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)"), AGE_COL], svc
    if key == ("apps", "deployments"):
        def dep(o):
            st, sp = o.get("status") or {}, o.get("spec") or {}
            return [o["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{sp.get('replicas', 0)}",
                    st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(o)]
        return [NAME_COL, _col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer"), AGE_COL], dep
    if key == ("", "events"):
        def ev(o):
            io = o.get("involvedObject") or {}
            from .store import parse_time
            last = parse_time(o.get("lastTimestamp")) or parse_time(o.get("eventTime")) or time.time()
            return [human_duration(time.time() - last), o.get("type", ""), o.get("reason", ""),
                    f"{(io.get('kind') or '').lower()}/{io.get('name', '')}", o.get("message", "")]
        return [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"), _col("Message")], ev
    if key == ("", "nodes"):
        def node(o):
            ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (o.get("status") or {}).get("conditions") or [])
            return [o["metadata"]["name"], "Ready" if ready else "NotReady", "<none>", _age(o),
                    ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]
        return [NAME_COL, _col("Status"), _col("Roles"), AGE_COL, _col("Version")], node
    if rt.crd_name:
        columns = rt.printer_columns.get(version) or []
        if columns:
            defs = [NAME_COL] + [_col(c["name"], "string", int(c.get("priority", 0)), "",
                                      c.get("description", c["name"])) for c in columns]

            def cr(o):
                row = [o["metadata"]["name"]]
                for c in columns:
                    v = _jsonpath(o, c.get("jsonPath", ""))
                    if c.get("type") == "date" and isinstance(v, str):
                        from .store import parse_time
                        ts = parse_time(v)
                        v = human_duration(time.time() - ts) if ts else v
                    row.append("<none>" if v is None else v if isinstance(v, (int, float, str)) else str(v))
                return row
            return defs, cr
    return [NAME_COL, AGE_COL], lambda o: [o["metadata"]["name"], _age(o)]


def to_table(rt: ResourceType, objects: list[dict], version: str, list_meta: dict | None,
             include_object: str = "Metadata", headers: bool = True) -> dict:
    cols, row_fn = _generic(rt, version)
    rows = []
    for o in objects:
        if include_object == "None":
            embedded = None
        elif include_object == "Object":
            embedded = o
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata")}
        row = {"cells": row_fn(o)}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": cols if headers else [], "rows": rows}
