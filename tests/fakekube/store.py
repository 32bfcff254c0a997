"""The in-memory object store behind the fake API server: all write semantics, watch history, garbage collection.

Everything here works on plain JSON dicts and raises :class:`ApiError` with the status a real API server would
answer. The HTTP layer (server.py) only parses requests and serialises results.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import queue
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from . import errors
from .errors import ApiError
from .patch import PatchError, json_patch, merge_patch
from .resources import (ResourceType, apply_defaults, builtin_resources, name_problem, pod_qos_class,
                        resource_from_crd, zero_status)
from .schema import prune, validate
from .selectors import (FieldRequirement, Requirement, SelectorError, field_value, fields_match, labels_match,
                        parse_field_selector, parse_label_selector, valid_label_key, valid_label_value)

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def now_rfc3339(offset: float = 0.0) -> str:
    return datetime.fromtimestamp(int(time.time() + offset), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    return None


@dataclass
class StoredEvent:
    rv: int
    type: str  # ADDED / MODIFIED / DELETED
    rkey: tuple[str, str]
    namespace: str
    obj: dict
    old: dict | None


class Watch:
    """One open watch: filters events of one resource type and queues them for the HTTP handler."""

    def __init__(self, rt: ResourceType, namespace: str | None, labels: list[Requirement],
                 fields: list[FieldRequirement], version: str, user_agent: str = ""):
        self.rt = rt
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.version = version
        self.user_agent = user_agent
        self.queue: "queue.SimpleQueue[tuple[str, dict] | None]" = queue.SimpleQueue()
        self.closed = False
        self.abrupt = False
        self.started = time.time()
        self.id = next(_watch_ids)

    def _matches(self, obj: dict | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and (obj.get("metadata") or {}).get("namespace") != self.namespace:
            return False
        return labels_match(self.labels, obj) and fields_match(self.fields, obj)

    def transform(self, ev: StoredEvent) -> tuple[str, dict] | None:
        if ev.rkey != self.rt.key:
            return None
        if ev.type == "ADDED":
            return ("ADDED", ev.obj) if self._matches(ev.obj) else None
        if ev.type == "DELETED":
            return ("DELETED", ev.obj) if self._matches(ev.obj) else None
        old_m, new_m = self._matches(ev.old), self._matches(ev.obj)
        if old_m and new_m:
            return ("MODIFIED", ev.obj)
        if new_m:
            return ("ADDED", ev.obj)
        if old_m:
            prev = copy.deepcopy(ev.old)
            prev["metadata"]["resourceVersion"] = str(ev.rv)
            return ("DELETED", prev)
        return None

    def offer(self, ev: StoredEvent) -> None:
        if self.closed:
            return
        t = self.transform(ev)
        if t is not None:
            self.queue.put(t)

    def close(self, abrupt: bool = False) -> None:
        self.abrupt = self.abrupt or abrupt
        self.closed = True
        self.queue.put(None)


_watch_ids = itertools.count(1)


def _meta(obj: dict) -> dict:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = obj["metadata"] = {}
    return m


def _strip_for_compare(obj: dict) -> dict:
    o = copy.deepcopy(obj)
    m = o.get("metadata") or {}
    m.pop("resourceVersion", None)
    m.pop("managedFields", None)
    return o


class Store:
    def __init__(self, history_limit: int = 5000, graceful_pod_deletion: bool = False):
        self.lock = threading.RLock()
        self.types: dict[tuple[str, str], ResourceType] = {}
        self.objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self.by_uid: dict[str, tuple[tuple[str, str], str, str]] = {}
        self.rv = 0
        self.history: deque[StoredEvent] = deque()
        self.history_limit = history_limit
        self.compacted_rv = 0
        self.watches: set[Watch] = set()
        self.graceful_pod_deletion = graceful_pod_deletion
        # first two octets of allocated Service cluster IPs (a FakeCluster uses 127.1 so kube-proxy can listen)
        self.service_ip_prefix = "10.96"
        self._gc_wakeup = threading.Event()
        self._gc_stop = threading.Event()
        self._gc_thread: threading.Thread | None = None
        self.type_listeners: list[Callable[[], None]] = []
        for rt in builtin_resources():
            self.register(rt)
        for ns in INITIAL_NAMESPACES:
            self.create(self.types[("", "namespaces")], None, {"metadata": {"name": ns}})

    # ------------------------------------------------------------------------------------------------------
    # type registry
    # ------------------------------------------------------------------------------------------------------

    def register(self, rt: ResourceType) -> None:
        with self.lock:
            self.types[rt.key] = rt
            self.objects.setdefault(rt.key, {})
        for fn in list(self.type_listeners):
            fn()

    def unregister(self, key: tuple[str, str]) -> None:
        with self.lock:
            self.types.pop(key, None)
            self.objects.pop(key, None)
        for fn in list(self.type_listeners):
            fn()

    def find_type(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.types.get((group, plural))
        if rt is not None and version in rt.versions:
            return rt
        return None

    def type_for_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.types.values():
            if rt.group == group and rt.kind == kind and version in rt.versions:
                return rt
        return None

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with self.lock:
            for rt in self.types.values():
                vs = out.setdefault(rt.group, [])
                for v in rt.versions:
                    if v not in vs:
                        vs.append(v)
        return out

    # ------------------------------------------------------------------------------------------------------
    # low-level commit
    # ------------------------------------------------------------------------------------------------------

    def _bump(self) -> int:
        self.rv += 1
        return self.rv

    def _record(self, ev: StoredEvent) -> None:
        self.history.append(ev)
        while len(self.history) > self.history_limit:
            dropped = self.history.popleft()
            self.compacted_rv = dropped.rv
        for w in list(self.watches):
            w.offer(ev)
        if ev.type == "DELETED" or (ev.obj.get("metadata") or {}).get("deletionTimestamp") \
                or (ev.type == "ADDED" and (ev.obj.get("metadata") or {}).get("ownerReferences")):
            self._gc_wakeup.set()

    def _put(self, rt: ResourceType, obj: dict, old: dict | None) -> dict:
        rv = self._bump()
        m = _meta(obj)
        m["resourceVersion"] = str(rv)
        ns = m.get("namespace", "") if rt.namespaced else ""
        self.objects[rt.key][(ns, m["name"])] = obj
        self.by_uid[m["uid"]] = (rt.key, ns, m["name"])
        snapshot = copy.deepcopy(obj)
        self._record(StoredEvent(rv, "MODIFIED" if old is not None else "ADDED", rt.key, ns, snapshot, old))
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._sync_crd(snapshot)
        return copy.deepcopy(snapshot)

    def _remove(self, rt: ResourceType, obj: dict) -> dict:
        rv = self._bump()
        m = _meta(obj)
        ns = m.get("namespace", "") if rt.namespaced else ""
        self.objects[rt.key].pop((ns, m["name"]), None)
        self.by_uid.pop(m.get("uid", ""), None)
        final = copy.deepcopy(obj)
        final["metadata"]["resourceVersion"] = str(rv)
        self._record(StoredEvent(rv, "DELETED", rt.key, ns, final, None))
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            key = self._crd_key(final)
            if key in self.types and self.types[key].crd_name == final["metadata"]["name"]:
                self.objects.pop(key, None)
                self.types.pop(key, None)
                for fn in list(self.type_listeners):
                    fn()
        return copy.deepcopy(final)

    def expire_history(self) -> int:
        """Forget every recorded event: any watch resuming from an older resourceVersion gets 410."""
        with self.lock:
            self.history.clear()
            self.compacted_rv = self.rv
            return self.rv

    # ------------------------------------------------------------------------------------------------------
    # reads
    # ------------------------------------------------------------------------------------------------------

    def _raw(self, rt: ResourceType, ns: str | None, name: str) -> dict | None:
        return self.objects.get(rt.key, {}).get((ns or "" if rt.namespaced else "", name))

    def get(self, rt: ResourceType, ns: str | None, name: str) -> dict:
        with self.lock:
            obj = self._raw(rt, ns, name)
            if obj is None:
                raise errors.not_found(rt, name)
            return copy.deepcopy(obj)

    def parse_selectors(self, rt: ResourceType, label_selector: str | None,
                        field_selector: str | None) -> tuple[list[Requirement], list[FieldRequirement]]:
        try:
            labels = parse_label_selector(label_selector)
            fields = parse_field_selector(field_selector, rt.allowed_field_selectors())
        except SelectorError as e:
            raise errors.bad_request(str(e))
        return labels, fields

    def _matching(self, rt: ResourceType, ns: str | None, labels, fields) -> list[dict]:
        items = []
        for (ons, _), obj in sorted(self.objects.get(rt.key, {}).items()):
            if ns is not None and rt.namespaced and ons != ns:
                continue
            if labels_match(labels, obj) and fields_match(fields, obj, field_value):
                items.append(obj)
        return items

    def list(self, rt: ResourceType, ns: str | None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> dict:
        labels, fields = self.parse_selectors(rt, label_selector, field_selector)
        with self.lock:
            list_rv = self.rv
            start_after = None
            if continue_token:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                    tok_rv, start_after = int(tok["rv"]), tuple(tok["start"])
                except Exception:
                    raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion")
                if tok_rv < self.compacted_rv:
                    raise errors.expired("The provided continue parameter is too old to display a consistent list "
                                         "result. You can start a new list without the continue parameter.")
                list_rv = tok_rv
            items = self._matching(rt, ns, labels, fields)
            if start_after is not None:
                items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > start_after]
            meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
            if limit and limit > 0 and len(items) > limit:
                last = items[limit - 1]["metadata"]
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"rv": list_rv, "start": [last.get("namespace", ""), last["name"]]}).encode()).decode()
                meta["remainingItemCount"] = len(items) - limit
                items = items[:limit]
            return {"metadata": meta, "items": copy.deepcopy(items)}

    def all_objects(self) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for objs in self.objects.values() for o in objs.values()]

    # ------------------------------------------------------------------------------------------------------
    # watch
    # ------------------------------------------------------------------------------------------------------

    def open_watch(self, rt: ResourceType, ns: str | None, *, label_selector: str | None = None,
                   field_selector: str | None = None, resource_version: str | None = None,
                   send_initial_events: bool | None = None, version: str | None = None,
                   user_agent: str = "") -> tuple[Watch, list[tuple[str, dict]], ApiError | None, bool]:
        """Returns (watch, initial events, error to send as an ERROR event, initial-events-end bookmark due)."""
        labels, fields = self.parse_selectors(rt, label_selector, field_selector)
        w = Watch(rt, ns if rt.namespaced else None, labels, fields, version or rt.storage_version, user_agent)
        with self.lock:
            initial: list[tuple[str, dict]] = []
            rv_text = resource_version or ""
            synthetic = rv_text in ("", "0") or bool(send_initial_events)
            if synthetic:
                for obj in self._matching(rt, w.namespace, labels, fields):
                    initial.append(("ADDED", copy.deepcopy(obj)))
            else:
                try:
                    start = int(rv_text)
                except ValueError:
                    raise errors.bad_request(f"invalid resource version: {rv_text!r}")
                if start < self.compacted_rv:
                    oldest = self.history[0].rv if self.history else self.rv + 1
                    return w, [], errors.expired(f"too old resource version: {start} ({oldest - 1})"), False
                for ev in self.history:
                    if ev.rv > start:
                        t = w.transform(ev)
                        if t is not None:
                            initial.append(t)
            self.watches.add(w)
            return w, initial, None, bool(send_initial_events)

    def close_watch(self, w: Watch) -> None:
        with self.lock:
            self.watches.discard(w)

    def drop_watches(self, abrupt: bool = False) -> int:
        with self.lock:
            ws = list(self.watches)
            self.watches.clear()
        for w in ws:
            w.close(abrupt=abrupt)
        return len(ws)

    def bookmark_rv(self, w: Watch) -> str | None:
        """The resourceVersion a BOOKMARK may carry now, or None while events are still queued for ``w``."""
        with self.lock:
            if not w.queue.empty():
                return None
            return str(self.rv)

    # ------------------------------------------------------------------------------------------------------
    # create
    # ------------------------------------------------------------------------------------------------------

    def _check_namespace(self, rt: ResourceType, ns: str | None) -> None:
        if not rt.namespaced:
            return
        nsobj = self._raw(self.types[("", "namespaces")], None, ns or "")
        if nsobj is None:
            raise errors.namespace_not_found(ns or "")
        if nsobj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(f"{rt.plural} \"\" is forbidden: unable to create new content in namespace {ns} "
                                   f"because it is being terminated", rt)

    def _check_kind(self, rt: ResourceType, obj: dict, version: str | None) -> None:
        want_av = rt.api_version(version)
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(f"the API version in the data ({av}) does not match the expected API version "
                                     f"({want_av})" if av and av != want_av else
                                     f"{kind} in version \"{(version or rt.storage_version)}\" cannot be handled as "
                                     f"a {rt.kind}: kind mismatch")
        if av and av not in [rt.api_version(v) for v in rt.versions]:
            raise errors.bad_request(f"the API version in the data ({av}) does not match the expected API version "
                                     f"({want_av})")
        obj["apiVersion"] = rt.api_version()
        obj["kind"] = rt.kind

    def create(self, rt: ResourceType, ns: str | None, body: dict, *, version: str | None = None,
               dry_run: bool = False, field_validation: str | None = None,
               warnings: list[str] | None = None) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        obj = copy.deepcopy(body)
        self._check_kind(rt, obj, version)
        meta = _meta(obj)
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        with self.lock:
            self._check_namespace(rt, ns)
            if not meta.get("name"):
                gen = meta.get("generateName")
                if not gen:
                    raise errors.invalid(rt, "", [("metadata.name", "FieldValueRequired",
                                                   "Required value: name or generateName is required")])
                for _ in range(20):
                    candidate = gen[:58] + "".join(random.choice(GENERATE_ALPHABET) for _ in range(5))
                    if self._raw(rt, ns, candidate) is None:
                        break
                meta["name"] = candidate
            name = meta["name"]
            problem = name_problem(name, rt.name_check)
            if problem:
                raise errors.invalid(rt, name, [("metadata.name", "FieldValueInvalid",
                                                 f'Invalid value: "{name}": {problem}')])
            if self._raw(rt, ns, name) is not None:
                raise errors.already_exists(rt, name)
            for k in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
                      "managedFields"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if rt.has_generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if rt.has_status:
                obj.pop("status", None)
                if not rt.crd_name:
                    obj["status"] = zero_status(rt)  # built-in strategies reset status to its zero value
            if rt.key == ("", "pods"):
                obj["status"] = {"phase": "Pending"}
            self._prepare_write(rt, obj, None, field_validation, warnings, version)
            if rt.key == ("", "pods"):
                obj["status"]["qosClass"] = pod_qos_class(obj)
            if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                fins = meta.setdefault("finalizers", [])
                if CRD_CLEANUP_FINALIZER not in fins:
                    fins.append(CRD_CLEANUP_FINALIZER)
                obj["status"] = self._crd_status(obj)
            if dry_run:
                meta["resourceVersion"] = ""
                return obj
            return self._put(rt, obj, None)

    # ------------------------------------------------------------------------------------------------------
    # per-type validation and normalisation shared by create and update
    # ------------------------------------------------------------------------------------------------------

    def _prepare_write(self, rt: ResourceType, obj: dict, old: dict | None, field_validation: str | None,
                       warnings: list[str] | None, version: str | None, subresource: str | None = None) -> None:
        meta = obj["metadata"]
        name = meta.get("name", "")
        causes: list[tuple[str, str, str]] = []
        for k, v in (meta.get("labels") or {}).items():
            if not valid_label_key(k):
                causes.append((f"metadata.labels", "FieldValueInvalid", f'Invalid value: "{k}": name part must '
                               "consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                               "an alphanumeric character"))
            if not isinstance(v, str) or not valid_label_value(v):
                causes.append((f"metadata.labels", "FieldValueInvalid", f'Invalid value: "{v}": a valid label must '
                               "be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
                               "start and end with an alphanumeric character"))
        for k, v in (meta.get("annotations") or {}).items():
            if not isinstance(v, str):
                raise errors.bad_request(f"{rt.kind} in version \"{version or rt.storage_version}\" cannot be "
                                         f"handled as a {rt.kind}: json: cannot unmarshal {type(v).__name__} into Go "
                                         f"struct field ObjectMeta.metadata.annotations of type string")
        for i, ref in enumerate(meta.get("ownerReferences") or []):
            for f in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(f):
                    causes.append((f"metadata.ownerReferences[{i}].{f}", "FieldValueRequired", "Required value"))
        if old is not None and old["metadata"].get("deletionTimestamp"):
            new_fins = [f for f in meta.get("finalizers") or [] if f not in (old["metadata"].get("finalizers") or [])]
            if new_fins:
                causes.append(("metadata.finalizers", "FieldValueForbidden",
                               f"Forbidden: no new finalizers can be added if the object is being deleted, found new "
                               f"finalizers []string{{{', '.join(json.dumps(f) for f in new_fins)}}}"))
        if subresource is None:
            apply_defaults(rt, obj)
        if rt.key == ("", "secrets"):
            self._normalise_secret(rt, obj, causes)
        elif rt.key == ("", "pods"):
            self._validate_pod(rt, obj, old, causes)
        elif rt.key == ("apps", "deployments"):
            self._validate_deployment(rt, obj, old, causes)
        elif rt.key == ("", "services"):
            self._normalise_service(obj, old)
        elif rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._validate_crd(rt, obj, old, causes)
        if rt.key in (("", "secrets"), ("", "configmaps")) and old is not None and old.get("immutable"):
            if any(obj.get(k) != old.get(k) for k in ("data", "binaryData", "immutable")):
                causes.append(("data" if obj.get("immutable") else "immutable", "FieldValueForbidden",
                               "Forbidden: field is immutable when `immutable` is set"))
        if rt.crd_name:
            schema = rt.schemas.get(version or rt.storage_version) or rt.schemas.get(rt.storage_version)
            pruned = prune(obj, schema, root=True)
            if pruned:
                if (field_validation or "").lower() == "strict":
                    raise errors.bad_request("strict decoding error: " + ", ".join(
                        f'unknown field "{p}"' for p in pruned))
                if warnings is not None and (field_validation or "warn").lower() == "warn":
                    warnings.extend(f'unknown field "{p}"' for p in pruned)
            for path, msg in validate(obj, schema):
                causes.append((path, "FieldValueInvalid", msg))
        if causes:
            raise errors.invalid(rt, name, causes)

    def _normalise_secret(self, rt: ResourceType, obj: dict, causes: list) -> None:
        data = obj.get("data") or {}
        for k, v in list(data.items()):
            try:
                base64.b64decode(v, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise errors.bad_request(f"Secret in version \"v1\" cannot be handled as a Secret: illegal base64 "
                                         f"data at input byte 0 (key {k!r})")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = dict(data)
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data

    def _validate_pod(self, rt: ResourceType, obj: dict, old: dict | None, causes: list) -> None:
        spec = obj.get("spec") or {}
        containers = spec.get("containers")
        if not containers:
            causes.append(("spec.containers", "FieldValueRequired", "Required value"))
        seen = set()
        for i, c in enumerate(containers or []):
            if not c.get("name"):
                causes.append((f"spec.containers[{i}].name", "FieldValueRequired", "Required value"))
            elif c["name"] in seen:
                causes.append((f"spec.containers[{i}].name", "FieldValueDuplicate", f'Duplicate value: "{c["name"]}"'))
            seen.add(c.get("name"))
            if not c.get("image") and old is None:
                causes.append((f"spec.containers[{i}].image", "FieldValueRequired", "Required value"))
        if old is not None:
            def normalise(s: dict) -> dict:
                s = copy.deepcopy(s)
                for key in ("containers", "initContainers"):
                    for c in s.get(key) or []:
                        c.pop("image", None)
                for k in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"):
                    s.pop(k, None)
                return s
            if normalise(spec) != normalise(old.get("spec") or {}):
                causes.append(("spec", "FieldValueForbidden",
                               "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
                               "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                               "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                               "(allow it to be set to 1 if it was previously negative)"))

    def _validate_deployment(self, rt: ResourceType, obj: dict, old: dict | None, causes: list) -> None:
        spec = obj.get("spec") or {}
        sel = spec.get("selector")
        if not sel or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        else:
            tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if any(tlabels.get(k) != v for k, v in (sel.get("matchLabels") or {}).items()):
                causes.append(("spec.template.metadata.labels", "FieldValueInvalid",
                               f"Invalid value: {json.dumps(tlabels)}: `selector` does not match template `labels`"))
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
        if old is not None and (old.get("spec") or {}).get("selector") != sel:
            causes.append(("spec.selector", "FieldValueInvalid",
                           f"Invalid value: {json.dumps(sel)}: field is immutable"))

    def _normalise_service(self, obj: dict, old: dict | None) -> None:
        spec = obj.setdefault("spec", {})
        if spec.get("type") == "ExternalName":
            return
        if old is not None and (old.get("spec") or {}).get("clusterIP"):
            spec["clusterIP"] = old["spec"]["clusterIP"]
        if not spec.get("clusterIP"):
            n = self.rv + 10
            spec["clusterIP"] = f"{self.service_ip_prefix}.{(n // 250) % 250}.{n % 250 + 2}"
        spec["clusterIPs"] = [spec["clusterIP"]] if spec["clusterIP"] != "None" else ["None"]

    # ------------------------------------------------------------------------------------------------------
    # CRDs
    # ------------------------------------------------------------------------------------------------------

    @staticmethod
    def _crd_key(crd: dict) -> tuple[str, str]:
        spec = crd.get("spec") or {}
        return (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))

    def _validate_crd(self, rt: ResourceType, obj: dict, old: dict | None, causes: list) -> None:
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        group, plural = spec.get("group"), names.get("plural")
        if not group:
            causes.append(("spec.group", "FieldValueRequired", "Required value"))
        if not plural:
            causes.append(("spec.names.plural", "FieldValueRequired", "Required value"))
        if not names.get("kind"):
            causes.append(("spec.names.kind", "FieldValueRequired", "Required value"))
        if group and plural and obj["metadata"].get("name") != f"{plural}.{group}":
            causes.append(("metadata.name", "FieldValueInvalid",
                           f'Invalid value: "{obj["metadata"].get("name")}": must be spec.names.plural+"."+spec.group'))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(("spec.scope", "FieldValueNotSupported",
                           f'Unsupported value: "{spec.get("scope")}": supported values: "Cluster", "Namespaced"'))
        versions = spec.get("versions") or []
        if not versions:
            causes.append(("spec.versions", "FieldValueInvalid", "Invalid value: null: must have exactly one version "
                           "marked as storage version"))
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(("spec.versions", "FieldValueInvalid", "Invalid value: must have exactly one version "
                           "marked as storage version"))
        for i, v in enumerate(versions):
            if not ((v.get("schema") or {}).get("openAPIV3Schema")):
                causes.append((f"spec.versions[{i}].schema.openAPIV3Schema", "FieldValueRequired",
                               "Required value: schemas are required"))
        if old is not None:
            if (old.get("spec") or {}).get("scope") != spec.get("scope"):
                causes.append(("spec.scope", "FieldValueInvalid", "Invalid value: field is immutable"))
            if self._crd_key(old) != self._crd_key(obj):
                causes.append(("spec.group", "FieldValueInvalid", "Invalid value: field is immutable"))
        existing = self.types.get((group or "", plural or ""))
        if existing is not None and existing.crd_name is None:
            causes.append(("spec.names.plural", "FieldValueInvalid",
                           f'Invalid value: "{plural}": conflicts with a built-in resource'))

    def _crd_status(self, crd: dict) -> dict:
        ts = now_rfc3339()
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
        return {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": ts},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": ts},
            ],
            "storedVersions": storage,
        }

    def _sync_crd(self, crd: dict) -> None:
        rt = resource_from_crd(crd)
        if not rt.group or not rt.plural or not rt.versions:
            return
        existing = self.types.get(rt.key)
        if existing is not None and existing.crd_name is None:
            return
        self.types[rt.key] = rt
        self.objects.setdefault(rt.key, {})
        for fn in list(self.type_listeners):
            fn()

    # ------------------------------------------------------------------------------------------------------
    # update / patch
    # ------------------------------------------------------------------------------------------------------

    def update(self, rt: ResourceType, ns: str | None, name: str, body: dict, *, subresource: str | None = None,
               version: str | None = None, dry_run: bool = False, field_validation: str | None = None,
               warnings: list[str] | None = None, _from_patch: bool = False) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        new = copy.deepcopy(body)
        self._check_kind(rt, new, version)
        meta = _meta(new)
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({name})")
        if rt.namespaced and meta.get("namespace") and meta["namespace"] != ns:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        with self.lock:
            old = self._raw(rt, ns, name)
            if old is None:
                raise errors.not_found(rt, name)
            rv = meta.get("resourceVersion")
            if rv:
                if rv != old["metadata"]["resourceVersion"]:
                    raise errors.conflict(rt, name)
            elif not rt.allow_unconditional_update and not _from_patch:
                raise errors.invalid(rt, name, [("metadata.resourceVersion", "FieldValueInvalid",
                                                 "Invalid value: 0x0: must be specified for an update")])
            if subresource == "status":
                result = copy.deepcopy(old)
                if "status" in new:
                    result["status"] = new["status"]
                else:
                    result.pop("status", None)
                if rt.key == ("", "pods") or not rt.crd_name:
                    # built-in status strategies keep spec but accept label/annotation changes
                    for k in ("labels", "annotations"):
                        if k in meta:
                            result["metadata"][k] = meta[k]
                        else:
                            result["metadata"].pop(k, None)
            else:
                result = new
                rmeta = result["metadata"]
                for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "generation", "namespace", "name"):
                    if k in old["metadata"]:
                        rmeta[k] = old["metadata"][k]
                    else:
                        rmeta.pop(k, None)
                if rt.has_status:
                    if "status" in old:
                        result["status"] = copy.deepcopy(old["status"])
                    else:
                        result.pop("status", None)
            self._prepare_write(rt, result, old, field_validation, warnings, version, subresource)
            if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions") and subresource is None:
                fresh = self._crd_status(result)
                kept = old.get("status") or {}
                if kept.get("acceptedNames") == fresh["acceptedNames"]:
                    fresh["conditions"] = kept.get("conditions", fresh["conditions"])
                    fresh["storedVersions"] = sorted(set(kept.get("storedVersions") or []) |
                                                     set(fresh["storedVersions"]))
                result["status"] = fresh
            if rt.has_generation and old["metadata"].get("generation") is not None:
                ignore = set(rt.generation_ignores) | {"metadata", "apiVersion", "kind"}
                if {k: v for k, v in result.items() if k not in ignore} != \
                        {k: v for k, v in old.items() if k not in ignore}:
                    result["metadata"]["generation"] = old["metadata"]["generation"] + 1
            if _strip_for_compare(result) == _strip_for_compare(old):
                return copy.deepcopy(old)  # no-op: no new resourceVersion, no watch event
            if dry_run:
                return result
            if result["metadata"].get("deletionTimestamp") and not result["metadata"].get("finalizers"):
                return self._remove(rt, result)
            return self._put(rt, result, copy.deepcopy(old))

    def patch(self, rt: ResourceType, ns: str | None, name: str, patch_type: str, patch_body: Any, *,
              subresource: str | None = None, version: str | None = None, dry_run: bool = False,
              field_validation: str | None = None, warnings: list[str] | None = None) -> dict:
        with self.lock:
            current = self._raw(rt, ns, name)
            if current is None:
                raise errors.not_found(rt, name)
            current = copy.deepcopy(current)
            current["apiVersion"] = rt.api_version(version)
            try:
                if patch_type == "merge":
                    if not isinstance(patch_body, dict):
                        raise PatchError("merge patch must be a JSON object", 400)
                    patched = merge_patch(current, patch_body)
                else:
                    patched = json_patch(current, patch_body)
            except PatchError as e:
                if e.code == 400:
                    raise errors.bad_request(str(e))
                raise ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {e}")
            if not isinstance(patched, dict):
                raise errors.bad_request("the patched object is not a JSON object")
            if not (patched.get("metadata") or {}).get("resourceVersion"):
                _meta(patched)["resourceVersion"] = current["metadata"]["resourceVersion"]
            return self.update(rt, ns, name, patched, subresource=subresource, version=version, dry_run=dry_run,
                               field_validation=field_validation, warnings=warnings, _from_patch=True)

    # ------------------------------------------------------------------------------------------------------
    # delete
    # ------------------------------------------------------------------------------------------------------

    def delete(self, rt: ResourceType, ns: str | None, name: str, *, propagation: str | None = None,
               grace_period: int | None = None, preconditions: dict | None = None,
               dry_run: bool = False) -> dict:
        with self.lock:
            obj = self._raw(rt, ns, name)
            if obj is None:
                raise errors.not_found(rt, name)
            meta = obj["metadata"]
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise errors.conflict(rt, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                                                f"object meta: {meta.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
                raise errors.conflict(rt, name, f"Precondition failed: ResourceVersion in precondition: "
                                                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                                f"{meta.get('resourceVersion')}")
            if dry_run:
                return copy.deepcopy(obj)
            policy = propagation or "Background"
            if policy not in ("Background", "Foreground", "Orphan"):
                raise errors.invalid(rt, name, [("propagationPolicy", "FieldValueNotSupported",
                                                 f'Unsupported value: "{policy}": supported values: "Foreground", '
                                                 f'"Background", "Orphan"')])
            if rt.key == ("", "pods") and meta.get("deletionTimestamp") and grace_period == 0 \
                    and not meta.get("finalizers"):
                return self._remove(rt, copy.deepcopy(obj))
            if meta.get("deletionTimestamp"):
                return copy.deepcopy(obj)
            if policy == "Orphan":
                self._orphan_dependents(meta["uid"])
            new = copy.deepcopy(obj)
            nmeta = new["metadata"]
            fins = list(nmeta.get("finalizers") or [])
            if policy == "Foreground" and FOREGROUND not in fins and self._dependents(meta["uid"]):
                fins.append(FOREGROUND)
            if rt.key == ("", "namespaces"):
                new.setdefault("status", {})["phase"] = "Terminating"
                nmeta["deletionTimestamp"] = now_rfc3339()
                nmeta["deletionGracePeriodSeconds"] = 0
                return self._put(rt, new, copy.deepcopy(obj))
            graceful_pod = (rt.key == ("", "pods") and self.graceful_pod_deletion
                            and (obj.get("spec") or {}).get("nodeName")
                            and (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed"))
            if graceful_pod and grace_period is None:
                grace_period = int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            if fins or (graceful_pod and grace_period and grace_period > 0):
                nmeta["finalizers"] = fins
                if not fins:
                    nmeta.pop("finalizers")
                g = grace_period if (graceful_pod and grace_period) else 0
                nmeta["deletionTimestamp"] = now_rfc3339(g)
                nmeta["deletionGracePeriodSeconds"] = g
                if nmeta.get("generation"):
                    nmeta["generation"] += 1
                return self._put(rt, new, copy.deepcopy(obj))
            return self._remove(rt, new)

    def delete_collection(self, rt: ResourceType, ns: str | None, label_selector: str | None,
                          field_selector: str | None, **kw) -> dict:
        lst = self.list(rt, ns, label_selector, field_selector)
        items = []
        for obj in lst["items"]:
            try:
                items.append(self.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], **kw))
            except ApiError as e:
                if e.code != 404:
                    raise
        return {"metadata": {"resourceVersion": str(self.rv)}, "items": items}

    # ------------------------------------------------------------------------------------------------------
    # pods: binding
    # ------------------------------------------------------------------------------------------------------

    def bind(self, ns: str, name: str, body: dict) -> dict:
        rt = self.types[("", "pods")]
        target = (body or {}).get("target") or {}
        node = target.get("name")
        if not node:
            raise errors.invalid(rt, name, [("target.name", "FieldValueRequired", "Required value")])
        with self.lock:
            pod = self._raw(rt, ns, name)
            if pod is None:
                raise errors.not_found(rt, name)
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict(rt, name, "pod is being deleted, cannot be assigned to a host")
            current = (pod.get("spec") or {}).get("nodeName")
            if current:
                raise errors.conflict(rt, name, f"pod {name} is already assigned to node \"{current}\"")
            new = copy.deepcopy(pod)
            new["spec"]["nodeName"] = node
            conds = [c for c in (new.setdefault("status", {}).get("conditions") or []) if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": now_rfc3339()})
            new["status"]["conditions"] = conds
            self._put(rt, new, copy.deepcopy(pod))
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    # ------------------------------------------------------------------------------------------------------
    # garbage collector, namespace and CRD clean-up (one background thread, like kube-controller-manager)
    # ------------------------------------------------------------------------------------------------------

    def _dependents(self, uid: str) -> list[tuple[ResourceType, dict]]:
        out = []
        for key, objs in self.objects.items():
            rt = self.types.get(key)
            if rt is None:
                continue
            for obj in objs.values():
                for ref in obj["metadata"].get("ownerReferences") or []:
                    if ref.get("uid") == uid:
                        out.append((rt, obj))
                        break
        return out

    def _orphan_dependents(self, uid: str) -> None:
        for rt, dep in self._dependents(uid):
            new = copy.deepcopy(dep)
            new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if not new["metadata"]["ownerReferences"]:
                del new["metadata"]["ownerReferences"]
            self._put(rt, new, copy.deepcopy(dep))

    def start_controllers(self) -> None:
        if self._gc_thread is None:
            self._gc_thread = threading.Thread(target=self._controller_loop, name="fakekube-gc", daemon=True)
            self._gc_thread.start()

    def stop_controllers(self) -> None:
        self._gc_stop.set()
        self._gc_wakeup.set()
        if self._gc_thread is not None:
            self._gc_thread.join(timeout=5)

    def _controller_loop(self) -> None:
        while not self._gc_stop.is_set():
            self._gc_wakeup.wait(timeout=1.0)
            self._gc_wakeup.clear()
            if self._gc_stop.is_set():
                return
            try:
                for _ in range(50):
                    if not self.run_controllers_once():
                        break
            except Exception:  # pragma: no cover - never let the controller thread die
                import traceback
                traceback.print_exc()

    def _delete_quietly(self, rt: ResourceType, obj: dict, policy: str = "Background") -> bool:
        m = obj["metadata"]
        if m.get("deletionTimestamp"):
            return False
        try:
            self.delete(rt, m.get("namespace"), m["name"], propagation=policy)
            return True
        except ApiError:
            return False

    def run_controllers_once(self) -> bool:
        """One pass of garbage collection and namespace/CRD clean-up; True if it changed anything."""
        changed = False
        with self.lock:
            # namespaces being deleted: delete their content, then the namespace
            ns_rt = self.types[("", "namespaces")]
            for nsobj in list(self.objects[ns_rt.key].values()):
                if not nsobj["metadata"].get("deletionTimestamp"):
                    continue
                nsname = nsobj["metadata"]["name"]
                remaining = 0
                for key, objs in list(self.objects.items()):
                    rt = self.types.get(key)
                    if rt is None or not rt.namespaced:
                        continue
                    for (ons, _), obj in list(objs.items()):
                        if ons == nsname:
                            remaining += 1
                            changed |= self._delete_quietly(rt, obj)
                if remaining == 0:
                    self._remove(ns_rt, copy.deepcopy(nsobj))
                    changed = True
            # CRDs being deleted: delete all instances, then drop the clean-up finalizer
            crd_rt = self.types[("apiextensions.k8s.io", "customresourcedefinitions")]
            for crd in list(self.objects[crd_rt.key].values()):
                if not crd["metadata"].get("deletionTimestamp"):
                    continue
                key = self._crd_key(crd)
                rt = self.types.get(key)
                instances = list(self.objects.get(key, {}).values()) if rt is not None else []
                for obj in instances:
                    changed |= self._delete_quietly(rt, obj)
                if not instances and CRD_CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []):
                    new = copy.deepcopy(crd)
                    new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"]
                                                     if f != CRD_CLEANUP_FINALIZER]
                    if new["metadata"]["finalizers"]:
                        self._put(crd_rt, new, copy.deepcopy(crd))
                    else:
                        self._remove(crd_rt, new)
                    changed = True
            # ownerReferences
            for key, objs in list(self.objects.items()):
                rt = self.types.get(key)
                if rt is None:
                    continue
                for obj in list(objs.values()):
                    refs = obj["metadata"].get("ownerReferences") or []
                    if not refs or obj["metadata"].get("deletionTimestamp"):
                        continue
                    solid, dangling, waiting = [], [], []
                    for ref in refs:
                        loc = self.by_uid.get(ref.get("uid", ""))
                        owner = None
                        if loc is not None:
                            okey, ons, oname = loc
                            ort = self.types.get(okey)
                            if ort is not None and (not ort.namespaced or ons == obj["metadata"].get("namespace", "")):
                                owner = self.objects[okey].get((ons, oname))
                        if owner is None:
                            dangling.append(ref)
                        elif owner["metadata"].get("deletionTimestamp") and \
                                FOREGROUND in (owner["metadata"].get("finalizers") or []):
                            waiting.append(ref)
                        else:
                            solid.append(ref)
                    if not solid:
                        changed |= self._delete_quietly(rt, obj, "Foreground" if waiting else "Background")
                    elif dangling or waiting:
                        new = copy.deepcopy(obj)
                        new["metadata"]["ownerReferences"] = solid
                        self._put(rt, new, copy.deepcopy(obj))
                        changed = True
            # owners deleted in the foreground: finish when their dependents are gone
            for key, objs in list(self.objects.items()):
                rt = self.types.get(key)
                if rt is None:
                    continue
                for obj in list(objs.values()):
                    m = obj["metadata"]
                    if m.get("deletionTimestamp") and FOREGROUND in (m.get("finalizers") or []) \
                            and not self._dependents(m["uid"]):
                        new = copy.deepcopy(obj)
                        new["metadata"]["finalizers"] = [f for f in m["finalizers"] if f != FOREGROUND]
                        if new["metadata"]["finalizers"]:
                            self._put(rt, new, copy.deepcopy(obj))
                        else:
                            del new["metadata"]["finalizers"]
                            self._remove(rt, new)
                        changed = True
        return changed
