#!/usr/bin/env python3
"""Writes docs/crd-reference.md from the CRD schemas in crds/ (the schemas are the source of truth).

    scripts/crd-reference.py            # rewrite docs/crd-reference.md
    scripts/crd-reference.py --check    # exit 1 (with a diff) when the document and the schemas disagree

One section per custom resource: its names and printer columns, then one row per field of `spec` and `status`
(dotted path, `[]` for list items, `{key}` for map values) with its type, default, constraints and description.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "crds"
DOC = ROOT / "docs" / "crd-reference.md"
ORDER = ["JupyterGateway", "JupyterNotebook", "JupyterKernelSpec", "JupyterKernelTemplate", "JupyterKernel"]


def cell(text: str) -> str:
    """Text fit for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def type_of(schema: dict) -> str:
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    if kind == "array":
        return f"list of {type_of(schema.get('items') or {})}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict) and not schema.get("properties"):
        return f"map of {type_of(schema['additionalProperties'])}"
    if kind is None and schema.get("x-kubernetes-preserve-unknown-fields"):
        return "any"
    return kind or "any"


def constraints(schema: dict) -> str:
    parts = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤"),
                       ("minItems", "items ≥"), ("maxItems", "items ≤"), ("maxProperties", "keys ≤")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if schema.get("format"):
        parts.append(f"format {schema['format']}")
    if schema.get("x-kubernetes-preserve-unknown-fields") and schema.get("type") == "object":
        parts.append("free-form")
    return "; ".join(parts)


def rows(schema: dict, path: str, required: bool):
    """Yields (path, type, required, default, constraints, description) for the field and everything below it."""
    default = schema.get("default")
    yield (path, type_of(schema), "yes" if required else "",
           "" if default is None else f"`{yaml.safe_dump(default, default_flow_style=True).strip().removesuffix('...').strip()}`",
           constraints(schema), schema.get("description", ""))
    needed = set(schema.get("required") or [])
    for name, child in (schema.get("properties") or {}).items():
        yield from rows(child, f"{path}.{name}", name in needed)
    items = schema.get("items")
    if isinstance(items, dict) and (items.get("properties") or items.get("items")):
        for name, child in (items.get("properties") or {}).items():
            yield from rows(child, f"{path}[].{name}", name in set(items.get("required") or []))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        for name, child in extra["properties"].items():
            yield from rows(child, f"{path}{{key}}.{name}", name in set(extra.get("required") or []))


def section(crd: dict) -> list[str]:
    spec = crd["spec"]
    names = spec["names"]
    version = next(v for v in spec["versions"] if v.get("storage"))
    schema = version["schema"]["openAPIV3Schema"]
    lines = [f"## {names['kind']}", ""]
    if schema.get("description"):
        lines += [cell(schema["description"]), ""]
    short = ", ".join(f"`{n}`" for n in names.get("shortNames") or [])
    lines += [f"`{spec['group']}/{version['name']}`, {spec['scope'].lower()}; plural `{names['plural']}`"
              + (f", short names {short}" if short else "") + "."]
    columns = version.get("additionalPrinterColumns") or []
    if columns:
        lines += ["", "`kubectl get` shows: " + ", ".join(f"{c['name']} (`{c['jsonPath']}`)" for c in columns) + "."]
    for part in ("spec", "status"):
        body = (schema.get("properties") or {}).get(part)
        if not body:
            continue
        lines += ["", f"### {names['kind']} `{part}`", "",
                  "| Field | Type | Required | Default | Constraints | Description |",
                  "|---|---|---|---|---|---|"]
        found = list(rows(body, part, False))[1:]
        if not found:
            lines.append(f"| `{part}` | {type_of(body)} |  |  | {cell(constraints(body))} | {cell(body.get('description', ''))} |")
        for path, kind, required, default, limits, text in found:
            lines.append(f"| `{path}` | {cell(kind)} | {required} | {cell(default)} | {cell(limits)} | {cell(text)} |")
    return lines + [""]


def render() -> str:
    crds = {}
    for file in sorted(CRDS.glob("*.yaml")):
        document = yaml.safe_load(file.read_text())
        if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
            crds[document["spec"]["names"]["kind"]] = document
    kinds = [k for k in ORDER if k in crds] + sorted(k for k in crds if k not in ORDER)
    lines = ["# Custom resource reference", "",
             "Generated by `scripts/crd-reference.py` from the schemas in `crds/` — do not edit by hand; run the script",
             "after changing a CRD (`tests/controller/test_crd_reference.py` fails while the two disagree).", "",
             "Contents: " + ", ".join(f"[{k}](#{k.lower()})" for k in kinds) + ".", ""]
    for kind in kinds:
        lines += section(crds[kind])
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       "docs/crd-reference.md", "generated from crds/"))
            print("docs/crd-reference.md is stale: run scripts/crd-reference.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
