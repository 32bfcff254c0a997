"""Fixtures of the pod-kernel tests: kernels as Kubernetes pods, against fakekube (tests/fakekube/README.md).

    swift build --product elastic-jupyter && swift build --product echo-kernel
    .venv/bin/python -m pytest tests/kube -q
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent, HERE.parent / "integration"):  # podkit, fakekube, procs/helpers
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import procs  # noqa: E402
import podkit  # noqa: E402
from fakekube.pytest_plugin import (fake_kube, fake_kube_factory, fake_kube_tls, fake_kubeconfig,  # noqa: E402,F401
                                    fake_kubelet, fake_kubelet_factory)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_collection_modifyitems(config, items):
    # test_pod_manifests.py validates every Pod and Secret the earlier tests rendered: run it last
    items.sort(key=lambda item: "test_pod_manifests.py::" in item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        for p in list(procs.LIVE_PROCESSES):
            report.sections.append((f"{p.name} log tail ({p.log_path})", p.log_tail(40)))


@pytest.fixture(scope="session", autouse=True)
def _binaries():
    if not procs.EJ_BINARY.exists():
        pytest.exit(f"gateway binary missing: {procs.EJ_BINARY} (swift build --product elastic-jupyter)", 2)
    if not podkit.ECHO_KERNEL.exists():
        pytest.exit(f"echo kernel missing: {podkit.ECHO_KERNEL} (swift build --product echo-kernel)", 2)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("kube-logs")


@pytest.fixture
def collect_rendered():
    """``collect_rendered(kube)``: record every Pod/Secret stored in that fake server (podkit.RENDERED)."""
    collectors = []

    def start(kube):
        c = podkit.Collector(kube)
        collectors.append(c)
        return c

    yield start
    for c in collectors:
        c.stop()


@pytest.fixture
def kubelet_for(fake_kubelet_factory):
    """``kubelet_for(server, **kw)``: a kubelet double with pod IPs of our own (podkit.kubelet_options)."""
    return lambda server, **kw: fake_kubelet_factory(server, **podkit.kubelet_options(**kw))


@pytest.fixture
def cluster(fake_kube, kubelet_for, tmp_path, collect_rendered) -> podkit.Cluster:
    """The fake cluster (plain HTTP) with the kernel namespace, its kubeconfig, and a manifest collector."""
    collect_rendered(fake_kube)
    return podkit.make_cluster(fake_kube, kubelet_for(fake_kube), tmp_path)


@pytest.fixture
def specs_dir(tmp_path) -> Path:
    """A kernelspec directory with the pod kernelspecs the tests use (add more with podkit.write_pod_kernelspec)."""
    root = tmp_path / "specs" / "kernels"
    podkit.write_pod_kernelspec(root, "pod_python")
    podkit.write_pod_kernelspec(root, "pod_echo", argv=podkit.ECHO_ARGV, interrupt_mode=None)
    return root


@pytest.fixture
def gateways(log_dir, tmp_path):
    """``gateways(specs_dir, kubeconfig, name=..., ...)`` starts a gateway; all are stopped at teardown."""
    f = podkit.GatewayFactory(log_dir, tmp_path)
    yield f
    f.stop_all()

