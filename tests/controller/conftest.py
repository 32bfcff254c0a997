"""Fixtures for the controller tests: a fake API server (process), the real controller binary (process),
the official Python `kubernetes` client. Every process is stopped at teardown."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        for p in list(support.LIVE):
            report.sections.append((f"{p.name} log tail ({p.log_path})", p.log_tail(40)))


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    server = support.FakeKube(tmp_path_factory.mktemp("fakekube"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kube(fake):
    """The official Python client (ApiClient) with the admin kubeconfig of ``fake``."""
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.config.new_client_from_config(config_file=str(fake.admin_kubeconfig))
    yield client
    client.close()


@pytest.fixture(scope="module")
def deployment_status(fake):
    double = support.DeploymentStatusDouble(fake)
    yield double
    double.stop()


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("logs")
