"""Issue 19, a notebook's Ingress, password and status: the real controller binary against the fake API server (no
pods run here: tests/cluster/test_notebook_server_cluster.py logs in and culls a real jupyter_server)."""

from __future__ import annotations

import base64
import json
import re

import pytest

from support import GROUP, VERSION, Controller, KubeClientError, core_path, cr_path, wait_until

NS = "nbfields"
PASSWORD = "hunter2 but longer"


def cr(name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterNotebook", "metadata": {"name": name}, "spec": spec}


def notebook(fake, name: str) -> dict:
    return fake.get(cr_path("jupyternotebooks", NS, name))


def secret(fake, name: str) -> dict[str, str]:
    data = (fake.get(core_path("secrets", NS, name)) or {}).get("data") or {}
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    if fake.get(f"/api/v1/namespaces/{NS}") is None:
        fake.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    c = Controller(fake.kubeconfig_for("controller-nbfields"), log_dir, name="controller-nbfields").wait_ready()
    yield c
    assert c.stop() == 0


def test_an_ingress_with_tls_to_the_notebook_service_gives_the_url(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("web", {"storage": {"enabled": False}, "ingress": {
        "host": "web.lab.example.com", "ingressClassName": "nginx", "tlsSecretName": "lab-tls",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "0"}}}))
    path = core_path("ingresses", NS, "web", group="networking.k8s.io/v1")
    ingress = wait_until(lambda: fake.get(path), message="the Ingress", details=controller.process.log_tail)
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["web.lab.example.com"], "secretName": "lab-tls"}],
        "rules": [{"host": "web.lab.example.com", "http": {"paths": [{
            "path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    owner = ingress["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("JupyterNotebook", "web", True)
    assert fake.get(core_path("services", NS, "web"))["spec"]["ports"][0]["name"] == "http", "the port it names"
    wait_until(lambda: notebook(fake, "web").get("status", {}).get("url") == "https://web.lab.example.com/",
               message="status.url from the Ingress", details=controller.process.log_tail)
    # without spec.ingress the Ingress goes
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "web"), {"spec": {"ingress": None}})
    wait_until(lambda: fake.get(path) is None, message="the Ingress removed", details=controller.process.log_tail)
    assert notebook(fake, "web")["status"]["url"] == f"http://web.{NS}:8888"


def test_the_password_is_stored_hashed_for_jupyter_server_and_kept_stable(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("pw", {"storage": {"enabled": False}, "auth": {"password": PASSWORD}}))
    data = wait_until(lambda: (d := secret(fake, "pw-jupyter")).get("jupyter_server_config.json") and d,
                      message="the password config", details=controller.process.log_tail)
    hashed = json.loads(data["jupyter_server_config.json"])["PasswordIdentityProvider"]["hashed_password"]
    assert re.fullmatch(r"sha256:[0-9a-f]{12}:[0-9a-f]{64}", hashed), hashed
    from jupyter_server.auth.security import passwd_check
    assert passwd_check(hashed, PASSWORD) and not passwd_check(hashed, "hunter2"), "jupyter_server accepts the hash"
    deployment = wait_until(lambda: fake.get(core_path("deployments", NS, "pw", group="apps/v1")), message="Deployment")
    assert PASSWORD not in json.dumps(deployment) and PASSWORD not in json.dumps(data), "no clear text anywhere"
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["JUPYTER_CONFIG_PATH"]["value"] == "/etc/elastic-jupyter/notebook-auth"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/etc/elastic-jupyter/notebook-auth")
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "pw-jupyter" and mount["readOnly"] is True
    assert [i["key"] for i in volume["secret"]["items"]] == ["jupyter_server_config.json"], "not the token file"

    # an unrelated change reconciles again: the same hash (salt), so the pod does not roll
    hash_annotation = deployment["spec"]["template"]["metadata"]["annotations"]["elastic-jupyter.io/config-hash"]
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "pw"), {"spec": {"service": {"annotations": {"a": "b"}}}})
    wait_until(lambda: fake.get(core_path("services", NS, "pw"))["metadata"].get("annotations", {}).get("a") == "b",
               message="the change reconciled", details=controller.process.log_tail)
    assert json.loads(secret(fake, "pw-jupyter")["jupyter_server_config.json"])["PasswordIdentityProvider"]["hashed_password"] == hashed
    assert fake.get(core_path("deployments", NS, "pw", group="apps/v1"))["spec"]["template"]["metadata"]["annotations"][
        "elastic-jupyter.io/config-hash"] == hash_annotation

    # a new password: a new hash, and the pod rolls; a given hash is used as it is
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "pw"), {"spec": {"auth": {"password": "another one"}}})
    new = wait_until(lambda: (h := json.loads(secret(fake, "pw-jupyter")["jupyter_server_config.json"])[
        "PasswordIdentityProvider"]["hashed_password"]) != hashed and h, message="the new hash")
    assert passwd_check(new, "another one")
    given = "sha1:0e112c3ddfce:a68df677475c2b47b6e86d0467eec97ac5f4b85a"
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "pw"), {"spec": {"auth": {"password": given}}})
    wait_until(lambda: json.loads(secret(fake, "pw-jupyter")["jupyter_server_config.json"])[
        "PasswordIdentityProvider"]["hashed_password"] == given, message="the given hash kept")


@pytest.mark.parametrize("spec, field", [
    ({"auth": {"password": "x" * 1025}}, "password"),
    ({"auth": {"password": ""}}, "password"),
    ({"cullIdleServerAfter": -1}, "cullIdleServerAfter"),
    ({"cullIdleServerAfter": 2592001}, "cullIdleServerAfter"),
    ({"cullIdleServerAfter": "soon"}, "cullIdleServerAfter"),
    ({"ingress": {"path": "/x"}}, "host"),
    ({"ingress": {"host": "h", "path": "no-slash"}}, "path"),
])
def test_out_of_bounds_fields_are_refused_by_the_schema(fake, controller, spec, field):
    with pytest.raises(KubeClientError) as refused:
        fake.api.post(cr_path("jupyternotebooks", NS), cr("refused", spec))
    assert refused.value.status == 422 and field in str(refused.value), refused.value


def test_status_says_stopped_and_counts_kernels(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("sleepy", {"storage": {"enabled": False}, "stopped": True,
                                                                 "cullIdleServerAfter": 60}))
    status = wait_until(lambda: (notebook(fake, "sleepy").get("status") or {}).get("phase") == "Stopped"
                        and notebook(fake, "sleepy")["status"], message="phase Stopped", details=controller.process.log_tail)
    assert status["stopped"] is True and status["kernels"] == 0
    assert "culledAt" not in status, "stopped by hand, not culled"
    types = {c["type"] for c in status["conditions"]}
    assert "Culled" not in types and "IdleCheckFailed" not in types, "a stopped notebook is not probed"
    assert fake.get(core_path("deployments", NS, "sleepy", group="apps/v1"))["spec"]["replicas"] == 0
    crd = fake.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/jupyternotebooks.{GROUP}")
    columns = {c["name"]: c["jsonPath"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Stopped"] == ".status.stopped" and columns["Kernels"] == ".status.kernels"
    assert columns["Culled"] == ".status.culledAt" and columns["Last Activity"] == ".status.lastActivity"


def kernel_pod(name: str, user: str, gateway: str) -> dict:
    import hashlib
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {
        "app.kubernetes.io/name": "elastic-jupyter", "app.kubernetes.io/component": "kernel",
        "elastic-jupyter.io/gateway": gateway, "elastic-jupyter.io/user-hash": hashlib.sha256(user.encode()).hexdigest()[:40]}},
        "spec": {"containers": [{"name": "kernel", "image": "k:1"}]}}


def test_status_counts_the_kernel_pods_of_the_notebooks_user(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("counted", {"storage": {"enabled": False}, "user": "eve",
                                                                  "gateway": {"name": "far-away"}}))
    for name, user in (("k-eve-1", "eve"), ("k-eve-2", "eve"), ("k-mallory", "mallory")):
        fake.api.post(core_path("pods", NS), kernel_pod(name, user, "far-away"))
    wait_until(lambda: notebook(fake, "counted").get("status", {}).get("kernels") == 2,
               message="2 kernels (eve's, not mallory's)", details=controller.process.log_tail)
    fake.api.delete(core_path("pods", NS, "k-eve-1"))
    wait_until(lambda: notebook(fake, "counted")["status"]["kernels"] == 1, message="1 kernel after one goes",
               details=controller.process.log_tail)
    assert notebook(fake, "counted")["status"]["stopped"] is False


def test_a_password_with_control_characters_is_refused_with_a_condition(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("ctl", {"storage": {"enabled": False}, "auth": {"password": "a\nb\x00"}}))
    status = wait_until(lambda: (notebook(fake, "ctl").get("status") or {}).get("phase") == "Failed" and notebook(fake, "ctl")["status"],
                        message="phase Failed", details=controller.process.log_tail)
    degraded = {c["type"]: c for c in status["conditions"]}["Degraded"]
    assert degraded["reason"] == "InvalidSpec" and "control characters" in degraded["message"], degraded
    assert fake.get(core_path("deployments", NS, "ctl", group="apps/v1")) is None, "nothing rendered"
