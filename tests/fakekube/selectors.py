"""Label and field selectors with the grammar and error behaviour of k8s.io/apimachinery.

Label selector: comma separated requirements ``key=v``, ``key==v``, ``key!=v``, ``key in (a,b)``,
``key notin (a,b)``, ``key`` (exists), ``!key`` (does not exist). ``!=`` and ``notin`` also match objects
without the label, as on a real API server. Field selector: ``path=v``, ``path==v``, ``path!=v``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)"
_KEY_RE = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class SelectorError(ValueError):
    """Raised for a malformed selector; the server answers 400 BadRequest with this message."""


def valid_label_key(key: str) -> bool:
    if not _KEY_RE.match(key):
        return False
    prefix, _, name = key.rpartition("/")
    return len(name) <= 63 and len(prefix) <= 253


def valid_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_VALUE_RE.match(value))


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match when the label is absent
        return not present or labels[self.key] not in self.values


def _split_top_level(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unbalanced parenthesis in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SelectorError(f"unable to parse requirement: unbalanced parenthesis in {text!r}")
    parts.append("".join(cur))
    return parts


_SET_RE = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$")


def parse_label_selector(text: str | None) -> list[Requirement]:
    if text is None or not text.strip():
        return []
    reqs: list[Requirement] = []
    for raw in _split_top_level(text):
        part = raw.strip()
        if not part:
            raise SelectorError(f"unable to parse requirement: found '', expected: identifier in {text!r}")
        m = _SET_RE.match(part)
        if m:
            key, op, vals = m.group(1), m.group(2), m.group(3)
            values = tuple(v.strip() for v in vals.split(",")) if vals.strip() else ()
            if not values:
                raise SelectorError(f"unable to parse requirement: for '{op}' operator, values set can't be empty")
        elif part.startswith("!"):
            key, op, values = part[1:].strip(), "!", ()
        else:
            m = _EQ_RE.match(part)
            if m:
                key, op, values = m.group(1), "!=" if m.group(2) == "!=" else "=", (m.group(3),)
            elif re.match(r"^[^\s=!()]+$", part):
                key, op, values = part, "exists", ()
            else:
                raise SelectorError(f"unable to parse requirement: invalid label selector {part!r}")
        if not valid_label_key(key):
            raise SelectorError(f"unable to parse requirement: values[0][{key}]: Invalid value: {key!r}: "
                                "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                                "start and end with an alphanumeric character")
        for v in values:
            if not valid_label_value(v):
                raise SelectorError(f"unable to parse requirement: values[0][{key}]: Invalid value: {v!r}: a valid "
                                    "label must be an empty string or consist of alphanumeric characters, '-', '_' "
                                    "or '.', and must start and end with an alphanumeric character")
        reqs.append(Requirement(key, op, tuple(values)))
    return reqs


def labels_match(reqs: list[Requirement], obj: dict) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(r.matches(labels) for r in reqs)


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str  # "=" or "!="
    value: str


def parse_field_selector(text: str | None, allowed: set[str] | None = None) -> list[FieldRequirement]:
    if text is None or not text.strip():
        return []
    reqs = []
    for raw in text.split(","):
        part = raw.strip()
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if allowed is not None and field not in allowed:
            raise SelectorError(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, "!=" if op == "!=" else "=", value))
    return reqs


def field_value(obj: dict, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs: list[FieldRequirement], obj: dict,
                 getter: Callable[[dict, str], str] = field_value) -> bool:
    for r in reqs:
        v = getter(obj, r.field)
        if (v == r.value) != (r.op == "="):
            return False
    return True
