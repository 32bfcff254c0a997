"""The fake API server driven by kubectl (get, apply, get -w, label, logs, describe, delete; CRDs)."""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from .testing import find_kubectl, wait_until

KUBECTL = find_kubectl()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (or does not run) on this machine")


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path):
        self.base = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), "--request-timeout", "20s"]

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=60, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.base + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def kubectl(fake_kubeconfig, tmp_path) -> Kubectl:
    return Kubectl(fake_kubeconfig, tmp_path / "kubectl-cache")


POD = textwrap.dedent("""
    apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      labels: {{app: web}}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: python:3.11-slim
        command: ["python", "-c", "print('hello from {name}', flush=True); import time; time.sleep(60)"]
""")


class LineCollector:
    """Reads a process's output in a thread so that waits stay bounded."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> list[str]:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.thread.join(timeout=5)
        return self.lines


def test_kubectl_get_apply_watch_label_logs_delete(kubectl, fake_kube, fake_kubelet, tmp_path):
    (tmp_path / "web.yaml").write_text(POD.format(name="web"))
    assert "pod/web created" in kubectl("apply", "-f", str(tmp_path / "web.yaml")).stdout
    wait_until(lambda: (fake_kube.get_object("v1", "Pod", "web") or {}).get("status", {}).get("phase") == "Running",
               15)
    ip = fake_kube.get_object("v1", "Pod", "web")["status"]["podIP"]
    out = kubectl("get", "pods", "-o", "wide").stdout
    header, row = out.splitlines()[0], next(line for line in out.splitlines() if line.startswith("web "))
    assert header.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[1:3] == ["1/1", "Running"] and ip in row and "fake-node" in row
    items = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["web"] and items[0]["kind"] == "Pod"
    assert kubectl("get", "pods", "-l", "app!=web", "-o", "name").stdout.strip() == ""
    assert kubectl("get", "pods", "--field-selector", "status.phase=Running", "-o", "name").stdout.split() == ["pod/web"]
    assert "pod/web unchanged" in kubectl("apply", "-f", str(tmp_path / "web.yaml")).stdout

    watcher = LineCollector(kubectl.popen("get", "pods", "-w", "--output-watch-events"))
    wait_until(lambda: any("web" in line for line in watcher.lines), 15, message="kubectl -w initial list")
    (tmp_path / "web2.yaml").write_text(POD.format(name="web2"))
    kubectl("create", "-f", str(tmp_path / "web2.yaml"))
    wait_until(lambda: any(line.startswith("MODIFIED") and "web2" in line and "Running" in line
                           for line in watcher.lines), 15, message="web2 Running seen by kubectl -w")
    kubectl("delete", "pod", "web2", "--wait=true")
    wait_until(lambda: any(line.startswith("DELETED") and "web2" in line for line in watcher.lines), 15)
    lines = watcher.stop()
    assert any(line.startswith("ADDED") and "web2" in line for line in lines)

    assert "pod/web labeled" in kubectl("label", "pod", "web", "tier=frontend").stdout
    assert kubectl("get", "pods", "-l", "tier in (frontend)", "-o", "name").stdout.split() == ["pod/web"]
    assert "pod/web annotated" in kubectl("annotate", "pod", "web", "note=x").stdout
    assert "hello from web" in kubectl("logs", "web").stdout
    described = kubectl("describe", "pod", "web").stdout
    assert "Events:" in described and "Successfully assigned default/web to fake-node" in described
    # by design: kubectl apply of a changed built-in object sends a strategic merge patch, which the fake refuses
    (tmp_path / "web.yaml").write_text(POD.format(name="web").replace("app: web", "app: web, v: '2'"))
    refused = kubectl("apply", "-f", str(tmp_path / "web.yaml"), check=False)
    assert refused.returncode != 0 and "UnsupportedMediaType" in refused.stderr
    assert 'pod "web" deleted' in kubectl("delete", "pod", "web").stdout
    assert fake_kube.get_object("v1", "Pod", "web") is None


CRD = textwrap.dedent("""
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: jupyterkerneltemplates.kubeflow.tkestack.io
    spec:
      group: kubeflow.tkestack.io
      scope: Namespaced
      names: {plural: jupyterkerneltemplates, singular: jupyterkerneltemplate, kind: JupyterKernelTemplate,
              listKind: JupyterKernelTemplateList, shortNames: [jkt]}
      versions:
      - name: v1alpha1
        served: true
        storage: true
        subresources: {status: {}}
        additionalPrinterColumns:
        - {name: Image, type: string, jsonPath: ".spec.template.spec.containers[0].image"}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              apiVersion: {type: string}
              kind: {type: string}
              metadata: {type: object}
              spec:
                type: object
                properties:
                  template:
                    type: object
                    properties:
                      metadata: {type: object}
                      spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
              status: {type: object}
""")

TEMPLATE = textwrap.dedent("""
    apiVersion: kubeflow.tkestack.io/v1alpha1
    kind: JupyterKernelTemplate
    metadata:
      name: python
    spec:
      template:
        {metadata}spec:
          restartPolicy: Always
          containers:
          - name: kernel
            image: {image}
""")


def test_kubectl_crds_and_custom_resources(kubectl, fake_kube, tmp_path):
    (tmp_path / "crd.yaml").write_text(CRD)
    assert "created" in kubectl("apply", "-f", str(tmp_path / "crd.yaml")).stdout
    assert "jupyterkerneltemplates.kubeflow.tkestack.io" in kubectl("get", "crd").stdout
    t = tmp_path / "t.yaml"
    t.write_text(TEMPLATE.format(metadata="", image="elyra/kernel-py:3.2.3"))
    assert "jupyterkerneltemplate.kubeflow.tkestack.io/python created" in kubectl("apply", "-f", str(t)).stdout
    t.write_text(TEMPLATE.format(metadata="", image="elyra/kernel-py:3.3.0"))
    assert "configured" in kubectl("apply", "-f", str(t)).stdout  # JSON merge patch for custom resources
    table = kubectl("get", "jkt").stdout.splitlines()
    assert table[0].split() == ["NAME", "IMAGE"] and table[1].split() == ["python", "elyra/kernel-py:3.3.0"]
    obj = json.loads(kubectl("get", "jupyterkerneltemplates", "python", "-o", "json").stdout)
    assert obj["metadata"]["generation"] == 2
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "elyra/kernel-py:3.3.0"
    # the Go operator's sample puts labels straight under template.metadata: with kubectl's default strict field
    # validation a real API server rejects it (elastic-jupyter-operator issue #67) -- and so does the fake
    t.write_text(TEMPLATE.format(metadata="metadata: {app: enterprise-gateway}\n    ", image="x:1"))
    bad = kubectl("apply", "-f", str(t), check=False)
    assert bad.returncode != 0 and 'unknown field "spec.template.metadata.app"' in bad.stderr
    # without strict validation the field is silently pruned
    kubectl("apply", "--validate=false", "-f", str(t))
    obj = json.loads(kubectl("get", "jkt", "python", "-o", "json").stdout)
    assert obj["spec"]["template"]["metadata"] == {}
    kubectl("delete", "-f", str(tmp_path / "crd.yaml"))
    wait_until(lambda: kubectl("get", "jkt", check=False).returncode != 0, 10, message="CRD gone")
