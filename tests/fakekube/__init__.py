"""fakekube: a fake Kubernetes API server and a kubelet double for ElasticJupyter's tests (see README.md).

    from fakekube import FakeKubeServer, FakeKubelet, write_kubeconfig     # with <repo>/tests on sys.path
    from tests.fakekube import FakeKubeServer, FakeKubelet                 # with <repo> on sys.path
"""

from .client import KubeClient, KubeClientError
from .errors import ApiError
from .kubeconfig import read_kubeconfig, write_kubeconfig
from .kubelet import SIMULATE_ANNOTATION, SIMULATIONS, FakeKubelet
from .server import FakeKubeServer, FaultRule

__all__ = ["FakeKubeServer", "FakeKubelet", "FaultRule", "KubeClient", "KubeClientError", "ApiError",
           "write_kubeconfig", "read_kubeconfig", "SIMULATE_ANNOTATION", "SIMULATIONS"]
