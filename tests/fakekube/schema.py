"""Structural-schema pruning and validation of custom resources (apiextensions-apiserver semantics, simplified).

Pruning drops every field the schema does not declare, unless the node says
``x-kubernetes-preserve-unknown-fields: true``; an object schema with neither ``properties`` nor
``additionalProperties`` keeps nothing. This is what silently empties ``spec.template.metadata`` in the Go
operator's CRDs (OPERATOR.md §1), so the fake reproduces it. Validation uses ``jsonschema`` when it is installed.
"""

from __future__ import annotations

import copy
from typing import Any

try:  # optional: present in the test venv
    import jsonschema  # type: ignore
except Exception:  # pragma: no cover
    jsonschema = None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(value: Any, schema: dict | None, path: str = "", *, root: bool = False,
          pruned: list[str] | None = None) -> list[str]:
    """Prune ``value`` in place; returns the dotted paths of the removed fields."""
    if pruned is None:
        pruned = []
    if schema is None:
        return pruned
    if isinstance(value, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value.keys()):
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            if embedded and key in ("apiVersion", "kind", "metadata"):
                continue
            if props is not None and key in props:
                prune(value[key], props[key], _join(path, key), pruned=pruned)
            elif isinstance(addl, dict):
                prune(value[key], addl, _join(path, key), pruned=pruned)
            elif addl is True or preserve:
                continue
            else:
                pruned.append(_join(path, key))
                del value[key]
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                prune(item, items, f"{path}[{i}]", pruned=pruned)
    return pruned


def _to_jsonschema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k.startswith("x-kubernetes-") or k in ("format", "example", "externalDocs"):
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {pk: _to_jsonschema(pv) for pk, pv in v.items()}
        elif k in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[k] = _to_jsonschema(v)
        else:
            out[k] = v
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
    out.pop("nullable", None)
    return out


def validate(obj: dict, schema: dict | None) -> list[tuple[str, str]]:
    """Returns (field path, message) for each violation."""
    if schema is None or jsonschema is None:
        return []
    js = _to_jsonschema(copy.deepcopy(schema))
    props = js.get("properties")
    if isinstance(props, dict):
        props.pop("metadata", None)
    instance = {k: v for k, v in obj.items() if k != "metadata"}
    problems = []
    validator = jsonschema.Draft4Validator(js)
    for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = ""
        for p in err.absolute_path:
            path = f"{path}[{p}]" if isinstance(p, int) else _join(path, str(p))
        problems.append((path or "<root>", err.message))
    return problems
