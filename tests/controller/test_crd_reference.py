"""docs/crd-reference.md is generated from the CRD schemas (issue 18 item 4): it agrees with crds/ now, and the check
fails as soon as a schema changes without the document."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "crd-reference.py"


def load_generator(root: Path):
    """The generator module, reading its CRDs and document under ``root``."""
    spec = importlib.util.spec_from_file_location("crd_reference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.CRDS, module.DOC = root / "crds", root / "docs" / "crd-reference.md"
    return module


def test_the_reference_matches_the_crds():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_every_spec_field_of_every_crd_is_in_the_reference():
    text = (ROOT / "docs" / "crd-reference.md").read_text()
    for file in sorted((ROOT / "crds").glob("*_*.yaml")):
        crd = yaml.safe_load(file.read_text())
        kind = crd["spec"]["names"]["kind"]
        assert f"## {kind}" in text
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for name in (schema["properties"].get("spec") or {}).get("properties") or {}:
            assert f"| `spec.{name}` |" in text, f"{kind} spec.{name} missing from the reference"


def test_a_changed_crd_makes_the_check_fail(tmp_path):
    (tmp_path / "docs").mkdir()
    shutil.copytree(ROOT / "crds", tmp_path / "crds")
    shutil.copy(ROOT / "docs" / "crd-reference.md", tmp_path / "docs" / "crd-reference.md")
    generator = load_generator(tmp_path)
    assert generator.render() == (tmp_path / "docs" / "crd-reference.md").read_text()
    # a new field, then a changed description: each alone makes the document stale
    path = tmp_path / "crds" / "kubeflow.tkestack.io_jupytergateways.yaml"
    crd = yaml.safe_load(path.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec["brandNewField"] = {"type": "integer", "minimum": 1, "description": "A field the document does not know."}
    path.write_text(yaml.safe_dump(crd))
    rendered = generator.render()
    assert "`spec.brandNewField`" in rendered and rendered != (tmp_path / "docs" / "crd-reference.md").read_text()
    del spec["brandNewField"]
    spec["cullIdleTimeout"]["description"] = "Reworded."
    path.write_text(yaml.safe_dump(crd))
    assert generator.render() != (tmp_path / "docs" / "crd-reference.md").read_text()
