"""Issue 19 item 2: JupyterKernelSpec as a profile, the real controller against the fake API server (schema
validation on): deploy/samples/profiles.yaml applies unchanged and renders the kernelspec ConfigMap (metadata,
pod templates with the scheduling fields, logos as binary data mounted beside kernel.json); a profile the
gateway's kernelPolicy does not allow, or with a hostile value the schema lets through, is left out with a
KernelSpecRefused condition naming the field, and comes back when fixed.
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from support import GROUP, SAMPLES_DIR, VERSION, Controller, condition, wait_until

NS, GW = "default", "profiles"
PROFILES = ("profile-small", "profile-large-memory", "profile-gpu-a100")


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    c = Controller(fake.admin_kubeconfig, log_dir, name="controller-profiles").wait_ready()
    yield c
    assert c.stop() == 0


@pytest.fixture(scope="module")
def custom(kube):
    import kubernetes
    return kubernetes.client.CustomObjectsApi(kube)


def configmap(fake) -> dict:
    return fake.get(f"/api/v1/namespaces/{NS}/configmaps/{GW}-kernelspecs") or {}


def gateway(custom) -> dict:
    return custom.get_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW)


def test_profile_samples_apply_unchanged_and_render(controller, custom, fake):
    docs = list(yaml.safe_load_all((SAMPLES_DIR / "profiles.yaml").read_text()))
    for doc in docs:
        created = custom.create_namespaced_custom_object(GROUP, VERSION, NS, doc["kind"].lower() + "s", doc)
        spec = json.loads(json.dumps(created["spec"]))
        if "gpu" in spec:  # the schema's defaults (if the server applies them) are the only additions
            assert (spec["gpu"].pop("resourceName", "nvidia.com/gpu"), spec["gpu"].pop("typeLabel", "nvidia.com/gpu.product")) == ("nvidia.com/gpu", "nvidia.com/gpu.product")
        assert spec == doc["spec"], f"{doc['metadata']['name']} changed on the way in (pruned or defaulted)"

    cm = wait_until(lambda: all(f"{p}.kernel.json" in (configmap(fake).get("data") or {}) for p in PROFILES) and configmap(fake),
                    message="the three profiles in the kernelspec ConfigMap", details=controller.process.log_tail)
    data, binary = cm["data"], cm.get("binaryData") or {}
    small = json.loads(data["profile-small.kernel.json"])["metadata"]["elastic_jupyter"]
    assert small["resources"] == {"cpus": "500m", "memory": "1Gi"} and small["limits"] == {"cpus": "1", "memory": "2Gi"}
    assert (small["max_cpus"], small["max_memory"], small["max_gpus"]) == ("2", "4Gi", "0")
    assert "profile-small.pod.yaml" not in data, "no scheduling field: no pod template"
    gpu = json.loads(data["profile-gpu-a100.kernel.json"])["metadata"]["elastic_jupyter"]
    assert gpu["resources"] == {"cpus": "2", "memory": "8Gi", "gpus": "1"}
    assert (gpu["max_cpus"], gpu["max_memory"], gpu["max_gpus"]) == ("8", "32Gi", "1"), "the policy's maxima, one GPU"
    assert (gpu["cull_idle_timeout"], gpu["cull_connected"], gpu["cull_max_age"]) == (600, True, 14400)
    pod = yaml.safe_load(data["profile-gpu-a100.pod.yaml"])
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}
    assert pod["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    large = yaml.safe_load(data["profile-large-memory.pod.yaml"])
    assert large["spec"]["nodeSelector"] == {"node.kubernetes.io/instance-type": "highmem"}

    for profile in PROFILES:
        logo = base64.b64decode(binary[f"{profile}.logo-svg.svg"])
        assert logo.startswith(b"<svg"), profile
    deployment = fake.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{GW}")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "kernelspecs")
    paths = {i["path"] for i in volume["configMap"]["items"]}
    assert {f"{p}/logo-svg.svg" for p in PROFILES} <= paths
    assert condition(gateway(custom), "KernelSpecRefused") is None


def test_a_gpu_profile_needs_the_gateways_consent(controller, custom, fake):
    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW, {"spec": {"kernelPolicy": {
        "maxResources": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": None}}}})

    def refused():
        c = condition(gateway(custom), "KernelSpecRefused")
        return c if c and "profile-gpu-a100" in c["message"] else None
    c = wait_until(refused, message="KernelSpecRefused for the GPU profile", details=controller.process.log_tail)
    assert "spec.gpu (1 nvidia.com/gpu above the gateway's kernelPolicy.maxResources of 0)" in c["message"], c
    wait_until(lambda: "profile-gpu-a100.kernel.json" not in (configmap(fake).get("data") or {}),
               message="the GPU profile left out")
    assert "profile-small.kernel.json" in configmap(fake)["data"], "the other profiles stay"
    assert "profile-gpu-a100.logo-svg.svg" not in (configmap(fake).get("binaryData") or {})

    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW, {"spec": {"kernelPolicy": {
        "maxResources": {"nvidia.com/gpu": 1}}}})
    wait_until(lambda: "profile-gpu-a100.kernel.json" in (configmap(fake).get("data") or {}), message="the GPU profile back")
    wait_until(lambda: condition(gateway(custom), "KernelSpecRefused") is None, message="the condition cleared")


@pytest.mark.parametrize("patch, field", [
    ({"resources": {"limits": {"memory": "-1Gi"}}}, "spec.resources.limits.memory (not a quantity)"),
    ({"resources": {"requests": {"memory": "64Gi"}}}, "spec.resources.requests.memory (above the gateway's kernelPolicy"),
    ({"resources": {"requests": {"cpu": "1e99999"}}}, "spec.resources.requests.cpu (not a quantity)"),
    ({"logo": "data:image/svg+xml,<svg onload='alert(1)'/>"}, "spec.logo (an SVG with scripts"),
    ({"logo": "data:image/png;base64,R0lGODlh"}, "spec.logo (not the image type it declares)"),
    ({"nodeSelector": {"bad key": "x"}}, "spec.nodeSelector[bad key] (not a label key and value)"),
], ids=["negative", "above-policy", "infinite", "svg-script", "gif-as-png", "label-key"])
def test_hostile_profile_values_are_refused_with_a_condition(controller, custom, fake, patch, field):
    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkernelspecs", "profile-small", {"spec": patch})
    try:
        def refused():
            c = condition(gateway(custom), "KernelSpecRefused")
            return c if c and field in c["message"] else None
        wait_until(refused, message=f"KernelSpecRefused naming {field}", details=controller.process.log_tail)
        wait_until(lambda: "profile-small.kernel.json" not in (configmap(fake).get("data") or {}),
                   message="profile-small left out")
        assert controller.process.alive
    finally:  # the sample's values back (a merge patch: each patched key's original, or removed)
        original = next(d for d in yaml.safe_load_all((SAMPLES_DIR / "profiles.yaml").read_text())
                        if d["metadata"]["name"] == "profile-small")["spec"]
        custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkernelspecs", "profile-small",
                                              {"spec": {key: original.get(key) for key in patch}})
        wait_until(lambda: "profile-small.kernel.json" in (configmap(fake).get("data") or {}), message="profile-small back")


def test_schema_refuses_what_it_can(custom):
    import kubernetes
    for bad in ({"gpu": {"count": 65}}, {"logo": "https://example.com/x.png"}, {"resources": {"requests": {"cpu": "lots"}}},
                {"tolerations": [{"key": "k", "operator": "Sometimes"}]}):
        with pytest.raises(kubernetes.client.ApiException) as e:
            custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkernelspecs", "profile-small", {"spec": bad})
        assert e.value.status == 422, bad
