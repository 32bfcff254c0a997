"""Manifests validate offline: CRDs, deploy/controller (files and kustomize build), samples against their CRD
schemas, and every object the controller renders into the fake API server."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import CRD_DIR, GROUP, REPO_ROOT, SAMPLES_DIR, VERSION, Controller, wait_until

from fakekube.schema import prune, validate  # noqa: E402 (tests/ is on sys.path through support)

VALIDATOR = REPO_ROOT / ".venv" / "bin" / "kubernetes-validate"
VERSIONS = ["1.30.0", "1.37.0"]
CONTROLLER_DIR = REPO_ROOT / "deploy" / "controller"
KUSTOMIZE_V2_KEYS = {"resources", "namespace", "namePrefix", "commonLabels", "images", "patchesStrategicMerge"}


def kubernetes_validate(files: list[Path]) -> None:
    if not VALIDATOR.exists():
        pytest.skip("kubernetes-validate is not installed in .venv")
    for version in VERSIONS:
        result = subprocess.run([str(VALIDATOR), "-k", version, "--strict", "--quiet", *map(str, files)],
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"kubernetes-validate {version}:\n{result.stdout}\n{result.stderr}"


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def crd_schemas() -> dict[str, dict]:
    schemas = {}
    for path in CRD_DIR.glob("kubeflow*.yaml"):
        crd = load_docs(path)[0]
        schemas[crd["spec"]["names"]["kind"]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schemas


def check_custom_resource(obj: dict, schemas: dict[str, dict]) -> None:
    schema = schemas[obj["kind"]]
    assert obj["apiVersion"] == f"{GROUP}/{VERSION}"
    problems = validate(obj, schema)
    assert not problems, f"{obj['kind']} {obj['metadata'].get('name')}: {problems}"
    pruned = prune(copy.deepcopy(obj), schema, root=True)
    assert not pruned, f"{obj['kind']} {obj['metadata'].get('name')}: unknown fields {pruned}"


def test_crds_validate():
    files = sorted(CRD_DIR.glob("kubeflow*.yaml"))
    assert len(files) == 5
    kubernetes_validate(files)
    for path in files:
        crd = load_docs(path)[0]
        version = crd["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert crd["spec"]["names"]["shortNames"]
        names = {c["name"] for c in version.get("additionalPrinterColumns", [])}
        if crd["spec"]["names"]["kind"] in ("JupyterGateway", "JupyterNotebook"):
            assert {"Ready", "Phase", "URL", "Kernels", "Age"} <= names


def test_crd_defaults_and_template_metadata():
    schemas = crd_schemas()
    gateway = schemas["JupyterGateway"]["properties"]["spec"]["properties"]
    assert gateway["cullIdleTimeout"]["default"] == 3600
    assert gateway["defaultKernel"]["default"] == "python_kubernetes"
    assert gateway["logLevel"]["enum"]
    for kind in ("JupyterNotebook", "JupyterKernelTemplate", "JupyterKernel"):
        props = schemas[kind]["properties"]["spec"]["properties"]["template"]["properties"]
        meta = props["metadata"]
        assert meta["properties"]["labels"]["additionalProperties"] == {"type": "string"}
        assert meta["properties"]["annotations"]["additionalProperties"] == {"type": "string"}
    # The upstream kernel-template sample's misplaced metadata keys are kept, not rejected (upstream #67).
    template = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterKernelTemplate", "metadata": {"name": "t"},
                "spec": {"template": {"metadata": {"app": "enterprise-gateway", "labels": {"a": "b"}},
                                      "spec": {"restartPolicy": "Always", "containers": [{"name": "kernel"}]}}}}
    check_custom_resource(template, schemas)


def test_controller_manifests_validate(tmp_path):
    files = sorted(p for p in CONTROLLER_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
    kubernetes_validate(files)
    kustomization = yaml.safe_load((CONTROLLER_DIR / "kustomization.yaml").read_text())
    assert set(kustomization) <= KUSTOMIZE_V2_KEYS, set(kustomization) - KUSTOMIZE_V2_KEYS
    deployment = next(d for p in files for d in load_docs(p) if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "--leader-elect" in container["args"]


def test_controller_kustomization_builds(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(CONTROLLER_DIR)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds.count("CustomResourceDefinition") == 5
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    account = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert binding["subjects"][0]["name"] == account["metadata"]["name"]
    assert binding["subjects"][0]["namespace"] == account["metadata"]["namespace"]
    files = []
    for i, doc in enumerate(docs):
        files.append(tmp_path / f"{i}.yaml")
        files[-1].write_text(yaml.safe_dump(doc))
    kubernetes_validate(files)


def sample_docs() -> list[dict]:
    return [d for p in sorted(SAMPLES_DIR.glob("*.yaml")) if p.name != "kustomization.yaml" for d in load_docs(p)]


def test_samples_validate_against_their_crd_schemas():
    schemas = crd_schemas()
    docs = sample_docs()
    assert {d["kind"] for d in docs} == {"JupyterGateway", "JupyterNotebook", "JupyterKernelSpec", "JupyterKernelTemplate"}
    for doc in docs:
        check_custom_resource(doc, schemas)
    files = sorted(p for p in SAMPLES_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
    kubernetes_validate(files)  # custom resources are skipped by the tool; nothing else may be wrong


# -- what the controller renders --------------------------------------------------------------------------------

SERVER_FIELDS = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "deletionTimestamp")


def test_rendered_objects_validate(fake, log_dir, deployment_status, tmp_path):
    """Every sample applied at once; everything the controller writes validates (built-ins with
    kubernetes-validate, custom resource statuses against the CRD schema)."""
    extra = [  # what the richer samples expect to exist
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure-gateway-token"}, "type": "Opaque",
         "data": {"token": "c2VjdXJlLXRva2Vu"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "carol-notebook-token"}, "type": "Opaque",
         "data": {"token": "Y2Fyb2w="}},
        # the TLS sample's certificate (cert-manager's layout: the CA in ca.crt, which dave's notebook trusts)
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secure-gateway-tls"}, "type": "kubernetes.io/tls",
         "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E="}},
    ]
    for obj in extra:
        fake.api.post("/api/v1/namespaces/default/secrets", obj)
    controller = Controller(fake.admin_kubeconfig, log_dir, name="controller-render").wait_ready()
    try:
        docs = sample_docs()
        for doc in docs:
            plural = doc["kind"].lower() + "s"
            fake.api.post(f"/apis/{GROUP}/{VERSION}/namespaces/default/{plural}", doc)

        def settled():
            for doc in docs:
                if doc["kind"] not in ("JupyterGateway", "JupyterNotebook"):
                    continue
                obj = fake.get(f"/apis/{GROUP}/{VERSION}/namespaces/default/{doc['kind'].lower()}s/{doc['metadata']['name']}")
                status = (obj or {}).get("status") or {}
                if status.get("phase") != "Running":
                    return False
            return True
        wait_until(settled, timeout=40, message="every sample Running", details=controller.process.log_tail)

        schemas = crd_schemas()
        managed, custom = [], []
        for obj in fake.objects():
            labels = obj["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/managed-by") == "elastic-jupyter-controller":
                managed.append(obj)
            elif obj["apiVersion"] == f"{GROUP}/{VERSION}":
                custom.append(obj)
        kinds = {o["kind"] for o in managed}
        assert kinds == {"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy", "ConfigMap", "Secret", "Deployment",
                         "Service", "PersistentVolumeClaim", "Ingress", "PodDisruptionBudget", "DaemonSet"}, kinds
        files = []
        for i, obj in enumerate(managed):
            rendered = copy.deepcopy(obj)
            rendered.pop("status", None)
            for key in SERVER_FIELDS:
                rendered["metadata"].pop(key, None)
            files.append(tmp_path / f"{i}-{obj['kind']}-{obj['metadata']['name']}.yaml")
            files[-1].write_text(yaml.safe_dump(rendered))
        # Kernel pod templates in the kernelspec ConfigMaps are Pods too.
        cas = [o for o in managed if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-gateway-ca")]
        assert [o["data"] for o in cas] == [{"ca.crt": "ca"}], "dave trusts the TLS sample's CA"
        for obj in managed:
            if obj["kind"] == "ConfigMap" and obj not in cas:
                for key, text in (obj.get("data") or {}).items():
                    if key.endswith(".pod.yaml"):
                        files.append(tmp_path / f"pod-{key}")
                        files[-1].write_text(text)
                    elif key.endswith(".py"):
                        compile(text, key, "exec")  # the notebook pods' gateway connection class
                    else:
                        json.loads(text)
        assert any(f.name.startswith("pod-") for f in files), "the GPU sample renders a pod template"
        kubernetes_validate(files)

        for obj in custom:
            check_custom_resource(obj, schemas)
            if obj["kind"] in ("JupyterGateway", "JupyterNotebook"):
                assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    finally:
        assert controller.stop() == 0
