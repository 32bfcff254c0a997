"""pytest fixtures for fakekube. Use them from any conftest.py:

    # tests/<suite>/conftest.py
    import sys, pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))   # <repo>/tests
    from fakekube.pytest_plugin import *  # noqa: F401,F403  (fake_kube, fake_kubelet, ...)

Every fixture stops what it started at teardown (servers, kubelet processes, temp dirs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from .kubelet import FakeKubelet
from .server import FakeKubeServer

# Short delays so that simulations finish quickly in tests.
FAST_KUBELET = {"backoff_base": 0.3, "backoff_max": 1.5, "scale_up_seconds": 1.0, "oom_after_seconds": 0.3,
                "kill_grace": 2.0}


@pytest.fixture
def fake_kube_factory(tmp_path_factory) -> Callable[..., FakeKubeServer]:
    """``fake_kube_factory(**FakeKubeServer kwargs)`` -> a started server; all stopped at teardown."""
    servers: list[FakeKubeServer] = []

    def make(**kw) -> FakeKubeServer:
        kw.setdefault("workdir", tmp_path_factory.mktemp("fakekube"))
        s = FakeKubeServer(**kw).start()
        servers.append(s)
        return s

    yield make
    for s in reversed(servers):
        s.stop()


@pytest.fixture
def fake_kubelet_factory(tmp_path_factory) -> Callable[..., FakeKubelet]:
    """``fake_kubelet_factory(server, **FakeKubelet kwargs)`` -> a started kubelet; all stopped at teardown."""
    kubelets: list[FakeKubelet] = []

    def make(server=None, **kw) -> FakeKubelet:
        for k, v in FAST_KUBELET.items():
            kw.setdefault(k, v)
        kw.setdefault("workdir", tmp_path_factory.mktemp("fakekubelet"))
        k = FakeKubelet(server, **kw).start()
        kubelets.append(k)
        return k

    yield make
    for k in reversed(kubelets):
        k.stop()


@pytest.fixture
def fake_kube(fake_kube_factory) -> FakeKubeServer:
    """A fresh fake API server: plain HTTP on 127.0.0.1, no authentication."""
    return fake_kube_factory()


@pytest.fixture
def fake_kube_tls(fake_kube_factory) -> FakeKubeServer:
    """A fresh fake API server over HTTPS that requires a client certificate (``.client_cert`` is admin)."""
    return fake_kube_factory(tls=True, client_cert_auth=True)


@pytest.fixture
def fake_kubelet(fake_kube, fake_kubelet_factory) -> FakeKubelet:
    """The kubelet double for ``fake_kube`` (fast back-offs)."""
    return fake_kubelet_factory(fake_kube)


@pytest.fixture
def fake_kubeconfig(fake_kube, tmp_path) -> Path:
    """A kubeconfig file for ``fake_kube``."""
    return fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
