"""Package.swift declares exactly what each target imports.

SwiftPM lets a target import a module that only comes with one of its dependencies (transitively), and it never
complains about a dependency nothing imports. Both hide the real shape of the package: this test reads the manifest
(`swift package dump-package`) and every `import` in each target's directory, and fails on

- an import of a package target or product the importing target does not declare, and
- a declared target or product that no file of the target imports.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Modules of the toolchain and the platform: never declared in Package.swift.
SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Glibc", "Musl", "Darwin",
    "Synchronization", "Testing", "XCTest", "_Concurrency", "os", "Observation", "PackageDescription",
}

IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public\s+|internal\s+|package\s+|private\s+|fileprivate\s+)?"
    r"import\s+(?:typealias\s+|struct\s+|class\s+|enum\s+|protocol\s+|let\s+|var\s+|func\s+)?(\w+)"
)


def manifest():
    swift = shutil.which("swift")
    if swift is None:
        pytest.skip("swift is not installed")
    # A scratch path of its own: `.build`'s lock, held by any running build, would make this wait for it.
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run([swift, "package", "--scratch-path", scratch, "dump-package"], cwd=ROOT,
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def declared(target):
    """Module names a target declares: in-package targets by name, products by product name (= module name)."""
    names = set()
    for dependency in target.get("dependencies", []):
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                names.add(dependency[kind][0])
    return names


def imports(directory):
    """Module name -> the first file importing it, over every Swift file of a target directory."""
    found = {}
    for root, _, files in os.walk(directory, followlinks=True):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = Path(root, name)
            for line in path.read_text(encoding="utf-8").splitlines():
                match = IMPORT.match(line)
                if match:
                    found.setdefault(match.group(1), str(path.relative_to(ROOT)))
    return found


def target_directory(target):
    if target.get("path"):
        return ROOT / target["path"]
    return ROOT / ("Tests" if target["type"] == "test" else "Sources") / target["name"]


def test_every_import_is_declared_and_every_declaration_imported():
    package = manifest()
    problems = []
    for target in package["targets"]:
        if target["type"] == "system":
            continue
        wanted = declared(target)
        found = imports(target_directory(target))
        for module, where in sorted(found.items()):
            if module in SYSTEM_MODULES or module == target["name"]:
                continue
            if module not in wanted:
                problems.append(f"{target['name']}: imports {module} ({where}) without declaring it")
        for module in sorted(wanted - set(found)):
            problems.append(f"{target['name']}: declares {module} but no file imports it")
    assert not problems, "\n".join(problems)


def test_the_import_pattern_reads_every_form():
    for line, module in [
        ("import Foundation", "Foundation"),
        ("@testable import KernelGateway", "KernelGateway"),
        ("@preconcurrency import NIOCore", "NIOCore"),
        ("public import Logging", "Logging"),
        ("import struct NIOCore.ByteBuffer", "NIOCore"),
        ("    import Glibc", "Glibc"),
    ]:
        assert IMPORT.match(line).group(1) == module
    assert IMPORT.match("// import Nothing") is None
    assert IMPORT.match("let x = 1 // import") is None
