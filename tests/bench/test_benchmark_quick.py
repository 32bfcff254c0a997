"""The benchmark harness still works: `Benchmarks/run.py --quick --no-eg` on the debug build.

A benchmark is not a test, so no time is asserted here; what is checked is what the quick mode itself
treats as correctness (every flood line and the final `idle` arrive, every start and attach succeeds)
plus the shape of the results file the README documents. Enterprise Gateway is left out (its own venv is
the full run's business).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("EJ_BINARY", REPO / ".build" / "debug" / "elastic-jupyter"))
ECHO_KERNEL = BINARY.parent / "echo-kernel"


def test_quick_benchmark_runs_and_reports_correct_floods(tmp_path):
    for binary in (BINARY, ECHO_KERNEL):
        assert binary.exists(), f"{binary} missing: scripts/test.sh builds it"
    cmd = [sys.executable, str(REPO / "Benchmarks" / "run.py"), "--quick", "--no-eg", "--out", str(tmp_path),
           "--gateway-bin", str(BINARY), "--echo-kernel-bin", str(ECHO_KERNEL), "--time-limit", "600"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=700)
    assert proc.returncode == 0, f"benchmark failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"

    report = json.loads((tmp_path / "results.json").read_text())
    assert report["errors"] == [], report["errors"]
    assert report["meta"]["mode"] == "quick"
    assert set(report["meta"]["targets"]) == {"direct", "ours"}
    ours, direct = report["results"]["ours"], report["results"]["direct"]
    for res in (ours, direct):
        assert res["floodA_ok"] is True and res["floodB_ok"] is True
        assert all(run["lines"] == 20000 and run["idle"] for run in res["floodA_runs"]), res["floodA_runs"]
    # The table has a row per measurement, with ours/direct ratios filled in where both were measured.
    assert report["table"], "empty table"
    assert any("flood A" in json.dumps(row) for row in report["table"])
