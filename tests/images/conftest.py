"""The container images on the simulated cluster (issue 18): fakekube's fixtures, tests/integration's helpers."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent, HERE.parent / "integration"):  # imagekit, fakekube, helpers
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from fakekube.pytest_plugin import *  # noqa: F401,F403,E402
