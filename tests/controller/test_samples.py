"""The seed's two samples, end to end: the real controller against the fake API server.

Order matters (one fake and one controller for the module): create → change → kernelspecs → delete notebook
→ delete gateway.
"""

from __future__ import annotations

import json

import pytest
import yaml

from support import (GROUP, SAMPLES_DIR, VERSION, Controller, condition, env_of, kernel_pod, secret_value,
                     wait_until)

GW, NB, NS = "jupytergateway-sample", "jupyternotebook-sample", "default"


@pytest.fixture(scope="module")
def controller(fake, log_dir, deployment_status):
    c = Controller(fake.admin_kubeconfig, log_dir, name="controller-e2e").wait_ready()
    yield c
    assert c.stop() == 0, "the controller must stop cleanly on SIGTERM"


@pytest.fixture(scope="module")
def api(kube):
    import kubernetes
    return {"core": kubernetes.client.CoreV1Api(kube), "apps": kubernetes.client.AppsV1Api(kube),
            "rbac": kubernetes.client.RbacAuthorizationV1Api(kube),
            "net": kubernetes.client.NetworkingV1Api(kube), "custom": kubernetes.client.CustomObjectsApi(kube)}


def get_cr(api, plural: str, name: str) -> dict | None:
    import kubernetes
    try:
        return api["custom"].get_namespaced_custom_object(GROUP, VERSION, NS, plural, name)
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return None
        raise


def exists(read, *args) -> bool:
    import kubernetes
    try:
        read(*args)
        return True
    except kubernetes.client.ApiException as e:
        if e.status == 404:
            return False
        raise


def apply_sample(api, filename: str) -> list[dict]:
    created = []
    for doc in yaml.safe_load_all((SAMPLES_DIR / filename).read_text()):
        plural = doc["kind"].lower() + "s"
        created.append(api["custom"].create_namespaced_custom_object(GROUP, VERSION, NS, plural, doc))
    return created


def test_seed_samples_create_every_child(controller, api, fake):
    gateway = apply_sample(api, "jupytergateway-sample.yaml")[0]
    notebook = apply_sample(api, "jupyternotebook-sample.yaml")[0]
    assert gateway["spec"] == {"cullIdleTimeout": 3600, "resources": {
        "requests": {"memory": "64Mi", "cpu": "250m"}, "limits": {"memory": "128Mi", "cpu": "500m"}}}, \
        "the upstream sample applies unchanged (nothing pruned)"

    core, apps, rbac, net = api["core"], api["apps"], api["rbac"], api["net"]
    gateway_children = [
        (core.read_namespaced_service_account, f"{GW}"), (core.read_namespaced_service_account, f"{GW}-kernel"),
        (rbac.read_namespaced_role, GW), (rbac.read_namespaced_role_binding, GW),
        (net.read_namespaced_network_policy, f"{GW}-kernels"), (core.read_namespaced_config_map, f"{GW}-kernelspecs"),
        (core.read_namespaced_secret, f"{GW}-auth"), (core.read_namespaced_secret, f"{GW}-users"),
        (apps.read_namespaced_deployment, GW),
        (core.read_namespaced_service, GW)]
    notebook_children = [
        (core.read_namespaced_secret, f"{NB}-jupyter"), (core.read_namespaced_secret, f"{NB}-gateway-token"),
        (apps.read_namespaced_deployment, NB),
        (core.read_namespaced_service, NB)]
    for read, name in gateway_children + notebook_children:
        wait_until(lambda: exists(read, name, NS), message=f"{read.__name__} {name}", details=controller.process.log_tail)

    for owner, children in ((gateway, gateway_children), (notebook, notebook_children)):
        for read, name in children:
            refs = read(name, NS).metadata.owner_references or []
            controllers = [r for r in refs if r.controller]
            assert len(controllers) == 1, f"{name}: {refs}"
            assert (controllers[0].uid, controllers[0].kind, controllers[0].block_owner_deletion) == \
                (owner["metadata"]["uid"], owner["kind"], True), name

    pvc = wait_until(lambda: exists(core.read_namespaced_persistent_volume_claim, f"{NB}-work", NS) and
                     core.read_namespaced_persistent_volume_claim(f"{NB}-work", NS), message="the work-directory claim")
    assert not pvc.metadata.owner_references, "the user's claim is retained: no owner"
    assert pvc.spec.resources.requests["storage"] == "10Gi"

    service = core.read_namespaced_service(GW, NS)
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(8888, "http")]
    assert service.spec.selector["app.kubernetes.io/component"] == "gateway"

    gw_deployment = apps.read_namespaced_deployment(GW, NS).to_dict()
    container = gw_deployment["spec"]["template"]["spec"]["containers"][0]
    env = env_of({"env": [{k: v for k, v in e.items() if v is not None} for e in container["env"]]})
    assert env["EG_CULL_IDLE_TIMEOUT"]["value"] == "3600"
    assert env["EG_NAME"]["value"] == GW
    assert env["EG_DEFAULT_KERNEL_NAME"]["value"] == "python_kubernetes"
    assert env["EG_AUTH_TOKEN"]["value_from"]["secret_key_ref"] == {"name": f"{GW}-auth", "key": "token", "optional": None}
    assert container["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"},
                                      "requests": {"cpu": "250m", "memory": "64Mi"}, "claims": None}
    # A new replica is ready before an old one stops, and a stopping one has time to drain.
    assert gw_deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                                 "rolling_update": {"max_unavailable": 0, "max_surge": 1}}
    assert gw_deployment["spec"]["template"]["spec"]["termination_grace_period_seconds"] >= 30
    gateway_token = secret_value(core.read_namespaced_secret(f"{GW}-auth", NS).to_dict(), "token")
    assert len(gateway_token) >= 32
    assert gateway_token not in json.dumps(gw_deployment, default=str), "the token is never in the pod spec"

    nb_deployment = apps.read_namespaced_deployment(NB, NS).to_dict()
    nb_container = nb_deployment["spec"]["template"]["spec"]["containers"][0]
    assert not nb_container.get("args") and not nb_container.get("command"), "the image's own start command is kept"
    nb_env = {e["name"]: e for e in nb_container["env"]}
    assert nb_env["JUPYTER_GATEWAY_URL"]["value"] == f"http://{GW}.{NS}:8888"
    ref = nb_env["JUPYTER_GATEWAY_AUTH_TOKEN"]["value_from"]["secret_key_ref"]
    nb_secret = core.read_namespaced_secret(ref["name"], NS).to_dict()
    assert ref["name"] == f"{NB}-gateway-token", "the notebook has its own gateway token, from a Secret"
    own_token = secret_value(nb_secret, ref["key"])
    assert len(own_token) == 64 and own_token != gateway_token, "never the gateway's shared token"
    assert nb_env["KERNEL_USERNAME"]["value"] == f"{NS}-{NB}", "the default user: <namespace>-<name>"
    assert nb_env["KERNEL_NOTEBOOK"]["value"] == NB
    # jupyter_server's gateway client: kernel WebSockets reconnect soon after a gateway replica stops.
    assert nb_env["JUPYTER_GATEWAY_CONNECT_TIMEOUT"]["value"] == "10.0"
    assert nb_env["JUPYTER_GATEWAY_RETRY_INTERVAL"]["value"] == "1.0"
    assert nb_env["JUPYTER_GATEWAY_RETRY_INTERVAL_MAX"]["value"] == "5.0"
    assert nb_env["JUPYTER_GATEWAY_RETRY_MAX"]["value"] == "20"
    assert nb_env["JUPYTER_GATEWAY_REQUEST_TIMEOUT"]["value"] == "62.0"
    assert nb_env["KERNEL_LAUNCH_TIMEOUT"]["value"] == "60"
    token_ref = nb_env["JUPYTER_TOKEN"]["value_from"]["secret_key_ref"]
    assert len(secret_value(core.read_namespaced_secret(token_ref["name"], NS).to_dict(), token_ref["key"])) >= 32
    assert gateway_token not in json.dumps(nb_deployment, default=str)

    def running(plural, name):
        obj = get_cr(api, plural, name)
        status = obj.get("status") or {}
        ready = condition(obj, "Ready")
        return status.get("phase") == "Running" and ready and ready["status"] == "True" and obj

    gw = wait_until(lambda: running("jupytergateways", GW), message="gateway Running", details=controller.process.log_tail)
    nb = wait_until(lambda: running("jupyternotebooks", NB), message="notebook Running", details=controller.process.log_tail)
    assert gw["status"]["url"] == f"http://{GW}.{NS}:8888"
    assert gw["status"]["observedGeneration"] == gw["metadata"]["generation"]
    assert {c["type"] for c in gw["status"]["conditions"]} >= {"Ready", "Progressing", "Degraded"}
    assert condition(gw, "Degraded")["status"] == "False"
    assert gw["status"]["kernelSpecs"] == ["python_kubernetes"]
    assert "elastic-jupyter.io/kernel-pods" in gw["metadata"]["finalizers"]
    assert nb["status"]["url"] == f"http://{NB}.{NS}:8888"
    assert nb["status"]["pvcName"] == f"{NB}-work"
    assert nb["status"]["gatewayURL"] == f"http://{GW}.{NS}:8888"
    wait_until(lambda: condition(get_cr(api, "jupyternotebooks", NB), "GatewayReady")["status"] == "True",
               message="the notebook sees its gateway Ready")

    events = api["core"].list_namespaced_event(NS).items
    assert any(e.involved_object.name == GW and e.reason == "Created" for e in events), "Events are recorded"


def test_settled_objects_are_not_rewritten(controller, fake, api):
    """Level-based and idempotent: once settled, reconciles (resyncs included) write nothing."""
    # The bare fake binds no claim: settled includes the notebook's ClaimPending condition (after the grace).
    wait_until(lambda: any(c["type"] == "ClaimPending" for c in
                           ((get_cr(api, "jupyternotebooks", NB) or {}).get("status") or {}).get("conditions") or []),
               message="the sample notebook's ClaimPending condition", details=controller.process.log_tail)
    since = fake.requests()[-1]["seq"] if fake.requests() else 0
    wait_until(lambda: "reconciles_total" in controller.metrics(), message="metrics")
    import time
    time.sleep(2.0)
    writes = [r for r in fake.requests(since=since) if r["method"] != "GET" and "/events" not in r["path"]
              and r["userAgent"].startswith("elastic-jupyter")]
    assert writes == [], writes


def test_cull_idle_timeout_change_rolls_out(controller, api):
    api["custom"].patch_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW, {"spec": {"cullIdleTimeout": 1200}})

    def env_value():
        container = api["apps"].read_namespaced_deployment(GW, NS).spec.template.spec.containers[0]
        return {e.name: e.value for e in container.env}["EG_CULL_IDLE_TIMEOUT"] == "1200"

    wait_until(env_value, message="EG_CULL_IDLE_TIMEOUT=1200 in the gateway Deployment", details=controller.process.log_tail)

    def observed():
        gw = get_cr(api, "jupytergateways", GW)
        return gw["metadata"]["generation"] == 2 and gw["status"]["observedGeneration"] == 2 and gw
    gw = wait_until(observed, message="observedGeneration 2")
    assert gw["status"]["phase"] in ("Running", "Provisioning")


def test_kernelspec_with_template_reaches_the_configmap(controller, api):
    template = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterKernelTemplate", "metadata": {"name": "gpu-template"},
                "spec": {"template": {"metadata": {"labels": {"team": "ml"}, "annotations": {"note": "kept"}},
                                      "spec": {"nodeSelector": {"gpu": "true"},
                                               "containers": [{"name": "kernel", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}}
    kernelspec = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterKernelSpec", "metadata": {"name": "python-gpu"},
                  "spec": {"displayName": "Python (GPU)", "language": "python", "image": "example/kernel-gpu:1",
                           "template": {"name": "gpu-template"}, "kernelResources": {"gpus": 1, "maxGpus": 2},
                           "env": [{"name": "MODE", "value": "gpu"}]}}
    custom = api["custom"]
    stored = custom.create_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkerneltemplates", template)
    assert stored["spec"]["template"]["metadata"]["labels"] == {"team": "ml"}, "template labels are not pruned"
    custom.create_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkernelspecs", kernelspec)
    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW,
                                          {"spec": {"kernels": ["python-gpu"], "defaultKernel": "python-gpu",
                                                    # a GPU limit needs the gateway's consent (kernelPolicy)
                                                    "kernelPolicy": {"maxResources": {"nvidia.com/gpu": 2}}}})

    def configmap():
        data = api["core"].read_namespaced_config_map(f"{GW}-kernelspecs", NS).data or {}
        return "python-gpu.kernel.json" in data and data

    data = wait_until(configmap, message="python-gpu in the kernelspec ConfigMap", details=controller.process.log_tail)
    kernel = json.loads(data["python-gpu.kernel.json"])
    assert kernel["display_name"] == "Python (GPU)"
    assert kernel["metadata"]["process_proxy"]["config"]["image_name"] == "example/kernel-gpu:1"
    assert kernel["metadata"]["elastic_jupyter"]["pod_template"] == "pod.yaml"
    assert kernel["metadata"]["elastic_jupyter"]["max_gpus"] == "2"
    assert kernel["env"] == {"MODE": "gpu"}
    pod = yaml.safe_load(data["python-gpu.pod.yaml"])
    assert pod["kind"] == "Pod" and pod["metadata"]["labels"] == {"team": "ml"}
    assert pod["spec"]["nodeSelector"] == {"gpu": "true"}
    assert "python_kubernetes.kernel.json" not in data, "only the listed kernelspecs are offered"

    def mounted():
        spec = api["apps"].read_namespaced_deployment(GW, NS).spec.template.spec
        env = {e.name: e.value for e in spec.containers[0].env}
        items = [v.config_map.items for v in spec.volumes if v.name == "kernelspecs"][0]
        return env["EG_ALLOWED_KERNELS"] == "python-gpu" and {i.path for i in items} == {
            "python-gpu/kernel.json", "python-gpu/pod.yaml"}
    wait_until(mounted, message="the gateway mounts the kernelspec directory")

    # Editing the template re-renders the ConfigMap (the gateway re-reads it).
    custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "jupyterkerneltemplates", "gpu-template",
                                          {"spec": {"template": {"spec": {"nodeSelector": {"gpu": "a100"}}}}})
    wait_until(lambda: yaml.safe_load(configmap()["python-gpu.pod.yaml"])["spec"]["nodeSelector"] == {"gpu": "a100"},
               message="the edited template in the ConfigMap")


def test_deleting_the_notebook_shuts_its_kernels_down_and_keeps_its_claim(controller, api):
    core = api["core"]
    # Kernels are the notebook's user's (elastic-jupyter.io/user-hash), whatever notebook label a client claimed.
    core.create_namespaced_pod(NS, kernel_pod("k-nb-1", GW, NB, user=f"{NS}-{NB}"))
    core.create_namespaced_pod(NS, kernel_pod("k-nb-2", GW, "claimed-anything", user=f"{NS}-{NB}"))
    core.create_namespaced_pod(NS, kernel_pod("k-other-nb", GW, NB, user="someone-else"))
    wait_until(lambda: (get_cr(api, "jupyternotebooks", NB).get("status") or {}).get("kernels") == 2,
               message="the notebook counts its 2 kernels")

    api["custom"].delete_namespaced_custom_object(GROUP, VERSION, NS, "jupyternotebooks", NB)
    wait_until(lambda: get_cr(api, "jupyternotebooks", NB) is None, message="the notebook is gone",
               details=controller.process.log_tail)
    names = {p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/component=kernel").items}
    assert "k-nb-1" not in names and "k-nb-2" not in names, names
    assert "k-other-nb" in names, "another notebook's kernel stays"
    assert exists(core.read_namespaced_persistent_volume_claim, f"{NB}-work", NS), "the user's data stays"
    wait_until(lambda: not exists(api["apps"].read_namespaced_deployment, NB, NS), message="owned children are collected")


def test_deleting_the_gateway_deletes_only_its_kernel_pods(controller, api):
    other = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterGateway", "metadata": {"name": "other-gateway"}, "spec": {}}
    api["custom"].create_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", other)
    core = api["core"]
    core.create_namespaced_pod(NS, kernel_pod("k-gw-1", GW))
    core.create_namespaced_pod(NS, kernel_pod("k-gw-2", GW, user="bob"))
    core.create_namespaced_pod(NS, kernel_pod("k-other-gw", "other-gateway"))
    wait_until(lambda: exists(api["apps"].read_namespaced_deployment, "other-gateway", NS), message="the other gateway")
    wait_until(lambda: (get_cr(api, "jupytergateways", GW).get("status") or {}).get("kernels") == 3,
               message="the gateway counts its kernels")

    api["custom"].delete_namespaced_custom_object(GROUP, VERSION, NS, "jupytergateways", GW)
    wait_until(lambda: get_cr(api, "jupytergateways", GW) is None, message="the gateway is gone",
               details=controller.process.log_tail)
    names = {p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/component=kernel").items}
    assert not names & {"k-gw-1", "k-gw-2", "k-other-nb"}, names
    assert "k-other-gw" in names, "another gateway's kernel pod stays"
    assert get_cr(api, "jupytergateways", "other-gateway") is not None
    wait_until(lambda: not exists(api["apps"].read_namespaced_deployment, GW, NS), message="owned children are collected")


def test_the_cluster_role_allows_every_request_made(controller, fake):
    """Least privilege, checked from the other side: every request the controller made in this module is
    allowed by deploy/controller's ClusterRole (and nothing there is needed only by the gateway's Role)."""
    from support import REPO_ROOT, rbac_allows, request_permission
    rules = yaml.safe_load((REPO_ROOT / "deploy" / "controller" / "clusterrole.yaml").read_text())["rules"]
    used = {request_permission(r["method"], r["path"], r["watch"]) for r in fake.requests(userAgent="^elastic-jupyter")}
    assert ("", "pods", "delete") in used and ("apps", "deployments", "update") in used
    missing = sorted(p for p in used if not rbac_allows(rules, *p))
    assert missing == [], missing
