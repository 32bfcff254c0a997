"""Issue 19 item 3, a notebook's work directory: the Java operator's `storageSize`, a claim that grows with the
notebook's size when its StorageClass allows expansion (a condition otherwise). The real controller binary against
the fake API server, which binds no claim by itself: the test binds them as a provisioner would."""

from __future__ import annotations

import pytest

from support import GROUP, VERSION, Controller, core_path, cr_path, wait_until

NS = "storage"
SC = "/apis/storage.k8s.io/v1/storageclasses"


def cr(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}


def storage_class(name: str, expandable: bool) -> dict:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/disk",
            "allowVolumeExpansion": expandable, "metadata": {"name": name}}


def claim(fake, name: str) -> dict | None:
    return fake.get(core_path("persistentvolumeclaims", NS, name))


def bind(fake, name: str) -> None:
    """What a provisioner does: the claim is Bound with its requested capacity."""
    size = claim(fake, name)["spec"]["resources"]["requests"]["storage"]
    fake.api.merge_patch(core_path("persistentvolumeclaims", NS, name) + "/status",
                         {"status": {"phase": "Bound", "capacity": {"storage": size}}})


def conditions(fake, name: str) -> dict[str, dict]:
    status = fake.get(cr_path("jupyternotebooks", NS, name)).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    if fake.get(f"/api/v1/namespaces/{NS}") is None:
        fake.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name, expandable in (("expandable", True), ("fixed", False)):
        if fake.get(f"{SC}/{name}") is None:
            fake.api.post(SC, storage_class(name, expandable))
    c = Controller(fake.kubeconfig_for("controller-storage"), log_dir, name="controller-storage").wait_ready()
    yield c
    assert c.stop() == 0


def test_a_seed_style_size_makes_the_claim_and_a_larger_size_grows_it(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "grows", {
        "storageSize": "2Gi", "storage": {"storageClassName": "expandable"}}))
    made = wait_until(lambda: claim(fake, "grows-work"), message="the claim", details=controller.process.log_tail)
    assert made["spec"]["resources"]["requests"]["storage"] == "2Gi", "the Java operator's storageSize"
    bind(fake, "grows-work")
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "grows"), {"spec": {"storage": {"size": "5Gi"}}})
    wait_until(lambda: claim(fake, "grows-work")["spec"]["resources"]["requests"]["storage"] == "5Gi",
               message="the claim grown to 5Gi", details=controller.process.log_tail)
    assert "ClaimNotExpandable" not in conditions(fake, "grows")
    # smaller never shrinks it (Kubernetes would refuse)
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "grows"), {"spec": {"storage": {"size": "1Gi"}}})
    wait_until(lambda: fake.get(cr_path("jupyternotebooks", NS, "grows"))["status"].get("observedGeneration") == 3,
               message="the smaller size reconciled", details=controller.process.log_tail)
    assert claim(fake, "grows-work")["spec"]["resources"]["requests"]["storage"] == "5Gi"


def test_a_claim_whose_class_cannot_expand_keeps_its_size_and_says_why(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "fixed", {
        "storage": {"size": "2Gi", "storageClassName": "fixed"}}))
    wait_until(lambda: claim(fake, "fixed-work"), message="the claim", details=controller.process.log_tail)
    bind(fake, "fixed-work")
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "fixed"), {"spec": {"storage": {"size": "8Gi"}}})
    found = wait_until(lambda: conditions(fake, "fixed").get("ClaimNotExpandable"), message="ClaimNotExpandable",
                       details=controller.process.log_tail)
    assert "fixed" in found["message"] and "8Gi" in found["message"], found
    assert claim(fake, "fixed-work")["spec"]["resources"]["requests"]["storage"] == "2Gi"
