"""Fixtures for fakekube's own tests (the reusable ones live in pytest_plugin.py)."""

from __future__ import annotations

import pytest

from .pytest_plugin import (fake_kube, fake_kube_factory, fake_kube_tls, fake_kubeconfig,  # noqa: F401
                            fake_kubelet, fake_kubelet_factory)


@pytest.fixture
def kube_api(fake_kube, fake_kubeconfig):
    """The official Python ``kubernetes`` client, configured from the kubeconfig file of ``fake_kube``."""
    kubernetes = pytest.importorskip("kubernetes")
    api_client = kubernetes.config.new_client_from_config(config_file=str(fake_kubeconfig))
    yield api_client
    api_client.close()
