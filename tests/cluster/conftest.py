"""The whole system on a FakeCluster (issue 15): fakekube's fixtures plus this directory's helpers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # <repo>/tests

from fakekube.pytest_plugin import *  # noqa: F401,F403,E402
