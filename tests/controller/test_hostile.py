"""Issue 14 (controller side): consent across namespaces, hostile custom resources, refused kernel pod fields,
bounded finalizers. The real controller binary against the fake API server."""

from __future__ import annotations

import hashlib

import json
import time

import pytest

from support import GROUP, VERSION, Controller, condition, core_path, cr_path, secret_value, wait_until


def make_namespace(fake, name: str, labels: dict | None = None) -> None:
    if fake.get(f"/api/v1/namespaces/{name}") is None:
        fake.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": name, "labels": labels or {}}})


def cr(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}


def deployment(fake, ns: str, name: str) -> dict | None:
    return fake.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")


def contains(obj, needle: str) -> bool:
    return needle in json.dumps(obj)


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    c = Controller(fake.kubeconfig_for("controller-hostile"), log_dir, name="controller-hostile").wait_ready()
    yield c
    assert c.stop() == 0


def test_cross_namespace_notebook_needs_consent(fake, controller):
    for ns in ("team-a", "team-b"):
        make_namespace(fake, ns)
    fake.api.post(cr_path("jupytergateways", "team-b"), cr("JupyterGateway", "gw", {}))
    token = wait_until(lambda: secret_value(fake.get(core_path("secrets", "team-b", "gw-auth")), "token"),
                       message="team-b's gateway token", details=controller.process.log_tail)
    ref = {"gateway": {"name": "gw", "namespace": "team-b"}}
    fake.api.post(cr_path("jupyternotebooks", "team-a"), cr("JupyterNotebook", "mallory", ref))
    wait_until(lambda: condition(fake.get(cr_path("jupyternotebooks", "team-a", "mallory")), "GatewayNotAllowed"),
               message="GatewayNotAllowed", details=controller.process.log_tail)
    # A kernel pod of team-b carrying the hostile notebook's name.
    victim = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "victim-kernel", "labels": {
        "app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": "gw",
        "elastic-jupyter.io/notebook": "mallory", "kernel_id": "victim"}},
        "spec": {"containers": [{"name": "kernel", "image": "python:3.12"}]}}
    fake.api.post(core_path("pods", "team-b"), victim)
    time.sleep(1)
    for kind in ("secrets", "deployments"):
        path = f"/api/v1/namespaces/team-a/{kind}" if kind == "secrets" else f"/apis/apps/v1/namespaces/team-a/{kind}"
        assert not contains(fake.api.get(path)["items"], token), f"team-b's token leaked into team-a {kind}"
    # Deleting the notebook before consent touches nothing in team-b.
    fake.api.delete(cr_path("jupyternotebooks", "team-a", "mallory"))
    wait_until(lambda: fake.get(cr_path("jupyternotebooks", "team-a", "mallory")) is None,
               message="the notebook deleted", details=controller.process.log_tail)
    pod = fake.get(core_path("pods", "team-b", "victim-kernel"))
    assert pod is not None and not pod["metadata"].get("deletionTimestamp"), "a pod in team-b was deleted"

    # Once team-b allows team-a, a notebook there works.
    fake.api.post(cr_path("jupyternotebooks", "team-a"), cr("JupyterNotebook", "alice", ref))
    wait_until(lambda: condition(fake.get(cr_path("jupyternotebooks", "team-a", "alice")), "GatewayNotAllowed"),
               message="GatewayNotAllowed before consent")
    assert fake.get(core_path("secrets", "team-a", "alice-jupyter")) is None or not contains(
        fake.get(core_path("secrets", "team-a", "alice-jupyter")), token)
    fake.api.merge_patch(cr_path("jupytergateways", "team-b", "gw"), {"spec": {"allowedNamespaces": {"names": ["team-a"]}}})
    wait_until(lambda: deployment(fake, "team-a", "alice"), timeout=20, message="alice's Deployment after consent",
               details=controller.process.log_tail)
    # alice gets her own token (never team-b's), and an entry in team-b's users Secret.
    own = wait_until(lambda: fake.get(core_path("secrets", "team-a", "alice-gateway-token")), message="alice's own token")
    assert secret_value(own, "token") != token
    for kind in ("secrets", "deployments"):
        path = f"/api/v1/namespaces/team-a/{kind}" if kind == "secrets" else f"/apis/apps/v1/namespaces/team-a/{kind}"
        assert not contains(fake.api.get(path)["items"], token), f"team-b's token leaked into team-a {kind}"

    def entries():
        secret = fake.get(core_path("secrets", "team-b", "gw-users"))
        return secret_value(secret, "users.yaml") if secret else ""
    wait_until(lambda: "team-a-alice" in entries(), message="alice's entry on team-b's gateway",
               details=controller.process.log_tail)
    assert "mallory" not in entries()
    # (the notebook's status is written after the users Secret)
    wait_until(lambda: condition(fake.get(cr_path("jupyternotebooks", "team-a", "alice")), "GatewayNotAllowed") is None,
               message="GatewayNotAllowed cleared", details=controller.process.log_tail)
    # team-b's gateway may run alice's kernels in team-a (item 4): a Role and RoleBinding there for its ServiceAccount.
    rbac_path = "rbac.authorization.k8s.io/v1"
    access = wait_until(lambda: fake.get(core_path("rolebindings", "team-a", "alice-gateway-kernels", group=rbac_path)),
                        message="the gateway's access in team-a", details=controller.process.log_tail)
    assert access["subjects"] == [{"kind": "ServiceAccount", "name": "gw", "namespace": "team-b"}]
    rules = fake.get(core_path("roles", "team-a", "alice-gateway-kernels", group=rbac_path))["rules"]
    assert {r["resources"][0] for r in rules} == {"pods", "secrets", "events"}
    assert fake.get(core_path("roles", "team-a", "mallory-gateway-kernels", group=rbac_path)) is None
    # ... the kernels' token-less ServiceAccount, and a NetworkPolicy letting only the gateway's pods reach her kernels
    account = wait_until(lambda: fake.get(core_path("serviceaccounts", "team-a", "gw-kernel")),
                         message="the kernels' ServiceAccount in team-a", details=controller.process.log_tail)
    assert account["automountServiceAccountToken"] is False
    netpol_path = "networking.k8s.io/v1"
    policy = wait_until(lambda: fake.get(core_path("networkpolicies", "team-a", "alice-gateway-kernels", group=netpol_path)),
                        message="the kernels' NetworkPolicy in team-a", details=controller.process.log_tail)
    assert policy["spec"]["podSelector"]["matchLabels"]["elastic-jupyter.io/user-hash"] == \
        hashlib.sha256(b"team-a-alice").hexdigest()[:40]
    assert policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "team-b"}}
    # Consent withdrawn: alice's entry is removed, so her token no longer works on team-b's gateway, and the
    # gateway's access to team-a goes.
    fake.api.merge_patch(cr_path("jupytergateways", "team-b", "gw"), {"spec": {"allowedNamespaces": None}})
    wait_until(lambda: "team-a-alice" not in entries(), message="the entry withdrawn", details=controller.process.log_tail)
    wait_until(lambda: fake.get(core_path("rolebindings", "team-a", "alice-gateway-kernels", group=rbac_path)) is None
               and fake.get(core_path("roles", "team-a", "alice-gateway-kernels", group=rbac_path)) is None
               and fake.get(core_path("networkpolicies", "team-a", "alice-gateway-kernels", group=netpol_path)) is None,
               message="the access withdrawn", details=controller.process.log_tail)


def test_consent_by_namespace_label(fake, controller):
    make_namespace(fake, "team-c", {"jupyter-tenant": "yes"})
    make_namespace(fake, "team-d")
    fake.api.post(cr_path("jupytergateways", "team-d"), cr("JupyterGateway", "shared", {
        "allowedNamespaces": {"selector": {"matchLabels": {"jupyter-tenant": "yes"}}}}))
    fake.api.post(cr_path("jupyternotebooks", "team-c"),
                  cr("JupyterNotebook", "carol", {"gateway": {"name": "shared", "namespace": "team-d"}}))
    wait_until(lambda: deployment(fake, "team-c", "carol"), timeout=20, message="carol's Deployment (selector consent)",
               details=controller.process.log_tail)


def nested(depth: int) -> dict:
    value: dict = {"leaf": True}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_hostile_objects_do_not_stop_the_controller(fake, controller):
    for ns in ("hostile-deep", "hostile-int", "calm"):
        make_namespace(fake, ns)
    deep = cr("JupyterNotebook", "deep", {"template": {"metadata": {"annotations": {"a": "b"}}, "spec": nested(600)}})
    fake.api.post(cr_path("jupyternotebooks", "hostile-deep"), deep)
    fake.api.post(cr_path("jupytergateways", "hostile-int"), cr("JupyterGateway", "huge", {"kernelLaunchTimeout": 9223372036854775807}))
    fake.api.post(cr_path("jupyternotebooks", "hostile-int"), cr("JupyterNotebook", "huge-nb", {"gateway": {"name": "huge"}}))
    started = time.monotonic()
    fake.api.post(cr_path("jupyternotebooks", "calm"), cr("JupyterNotebook", "normal", {}))
    wait_until(lambda: deployment(fake, "calm", "normal"), timeout=15, message="a normal notebook's Deployment",
               details=controller.process.log_tail)
    print(f"normal notebook's Deployment after {time.monotonic() - started:.2f}s")
    assert controller.process.alive
    gw = wait_until(lambda: condition(fake.get(cr_path("jupytergateways", "hostile-int", "huge")), "Degraded"),
                    message="the huge gateway's condition")
    assert "kernelLaunchTimeout" in gw["message"], gw
    events = fake.api.get("/api/v1/namespaces/hostile-deep/events")["items"]
    wait_until(lambda: any(e["reason"] == "Undecodable" and e["involvedObject"]["name"] == "deep"
                           for e in fake.api.get("/api/v1/namespaces/hostile-deep/events")["items"]),
               message="an Undecodable event", details=controller.process.log_tail)
    del events
    # Modify the deep object (a watch event the controller cannot decode), then delete the hostile objects.
    fake.api.merge_patch(cr_path("jupyternotebooks", "hostile-deep", "deep"), {"metadata": {"labels": {"touched": "1"}}})
    fake.api.post(cr_path("jupyternotebooks", "calm"), cr("JupyterNotebook", "after-modify", {}))
    wait_until(lambda: deployment(fake, "calm", "after-modify"), timeout=15, message="reconciling after a bad watch event",
               details=controller.process.log_tail)
    fake.api.delete(cr_path("jupyternotebooks", "hostile-deep", "deep"))
    fake.api.merge_patch(cr_path("jupytergateways", "hostile-int", "huge"), {"spec": {"kernelLaunchTimeout": 120}})
    wait_until(lambda: deployment(fake, "hostile-int", "huge-nb"), timeout=20, message="the fixed gateway's notebook",
               details=controller.process.log_tail)
    env = {e["name"]: e.get("value") for e in deployment(fake, "hostile-int", "huge-nb")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["KERNEL_LAUNCH_TIMEOUT"] == "120"
    fake.api.post(cr_path("jupyternotebooks", "hostile-deep"), cr("JupyterNotebook", "deep", {}))
    wait_until(lambda: deployment(fake, "hostile-deep", "deep"), timeout=20, message="a re-created notebook",
               details=controller.process.log_tail)
    assert controller.process.alive


REFUSED_TEMPLATES = {
    "hostpath": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}], "containers": [{"name": "kernel"}]},
    "hostnetwork": {"hostNetwork": True, "containers": [{"name": "kernel"}]},
    "hostpid": {"hostPID": True, "containers": [{"name": "kernel"}]},
    "hostusers": {"hostUsers": True, "containers": [{"name": "kernel"}]},
    "privileged": {"containers": [{"name": "kernel", "securityContext": {"privileged": True}}]},
    "capadd": {"containers": [{"name": "kernel", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]},
    "runasroot": {"containers": [{"name": "kernel", "securityContext": {"runAsUser": 0}}]},
    "runasgroup": {"securityContext": {"runAsGroup": 0}, "containers": [{"name": "kernel"}]},
    "selinux": {"containers": [{"name": "kernel", "securityContext": {"seLinuxOptions": {"type": "spc_t"}}}]},
    "apparmor": {"containers": [{"name": "kernel", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]},
    "secretvol": {"volumes": [{"name": "s", "secret": {"secretName": "gw-auth"}}], "containers": [{"name": "kernel"}]},
    "nodename": {"nodeName": "master", "containers": [{"name": "kernel"}]},
    "bigcpu": {"containers": [{"name": "kernel", "resources": {"limits": {"cpu": "512"}}}]},
    "gpuenv": {"containers": [{"name": "kernel", "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}]}]},
}
REFUSED_FIELDS = {
    "hostpath": "hostPath", "hostnetwork": "hostNetwork", "hostpid": "hostPID", "hostusers": "hostUsers",
    "privileged": "privileged", "capadd": "capabilities.add", "runasroot": "runAsUser", "runasgroup": "runAsGroup",
    "selinux": "seLinuxOptions", "apparmor": "appArmorProfile", "secretvol": "volumes[0].secret", "nodename": "nodeName",
    "bigcpu": "limits.cpu", "gpuenv": "NVIDIA_VISIBLE_DEVICES", "local": "spec.className", "secretenv": "secretKeyRef",
}


def test_refused_kernel_pod_fields(fake, controller):
    ns = "kernels"
    make_namespace(fake, ns)
    names = []
    for name, pod_spec in REFUSED_TEMPLATES.items():
        fake.api.post(cr_path("jupyterkerneltemplates", ns),
                      cr("JupyterKernelTemplate", name, {"template": {"metadata": {}, "spec": pod_spec}}))
        fake.api.post(cr_path("jupyterkernelspecs", ns), cr("JupyterKernelSpec", name, {"template": {"name": name}}))
        names.append(name)
    fake.api.post(cr_path("jupyterkernelspecs", ns), cr("JupyterKernelSpec", "local", {
        "className": "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy",
        "command": ["bash", "-c", "id"]}))
    fake.api.post(cr_path("jupyterkernelspecs", ns), cr("JupyterKernelSpec", "secretenv", {
        "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "gw-auth", "key": "token"}}}]}))
    fake.api.post(cr_path("jupyterkerneltemplates", ns), cr("JupyterKernelTemplate", "fine", {"template": {"spec": {
        "nodeSelector": {"gpu": "yes"}, "tolerations": [{"key": "gpu", "operator": "Exists"}],
        "containers": [{"name": "kernel", "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}}))
    fake.api.post(cr_path("jupyterkernelspecs", ns), cr("JupyterKernelSpec", "fine", {"template": {"name": "fine"}}))
    names += ["local", "secretenv", "fine"]
    fake.api.post(cr_path("jupytergateways", ns), cr("JupyterGateway", "gw", {"kernels": names, "defaultKernel": "fine"}))

    def refused():
        c = condition(fake.get(cr_path("jupytergateways", ns, "gw")), "KernelSpecRefused")
        return c if c and all(f"{n}:" in c["message"] for n in REFUSED_FIELDS) else None

    c = wait_until(refused, timeout=20, message="KernelSpecRefused naming every kernelspec", details=controller.process.log_tail)
    for name, field in REFUSED_FIELDS.items():
        part = c["message"].split(f"{name}:", 1)[1]
        assert field in part.split(";")[0], (name, field, c["message"])
    cm = wait_until(lambda: fake.get(core_path("configmaps", ns, "gw-kernelspecs")), message="the kernelspec ConfigMap")
    assert sorted(k.split(".")[0] for k in cm["data"]) == ["fine", "fine"], cm["data"].keys()
    for bad in ("hostPath", "hostNetwork", "privileged", "SYS_ADMIN", "spc_t", "Unconfined", "NVIDIA_VISIBLE_DEVICES",
                "LocalProcessProxy", "secretKeyRef"):
        assert bad not in json.dumps(cm["data"]), bad
    gw = fake.get(cr_path("jupytergateways", ns, "gw"))
    assert gw["status"]["kernelSpecs"] == ["fine"]


def test_notebook_template_refused(fake, controller):
    ns = "nb-templates"
    make_namespace(fake, ns)
    fake.api.post(cr_path("jupyternotebooks", ns), cr("JupyterNotebook", "root", {"template": {"spec": {
        "serviceAccountName": "controller", "containers": [{"name": "notebook", "securityContext": {"privileged": True}}]}}}))
    c = wait_until(lambda: condition(fake.get(cr_path("jupyternotebooks", ns, "root")), "TemplateRefused"),
                   message="TemplateRefused", details=controller.process.log_tail)
    assert "serviceAccountName" in c["message"] and "privileged" in c["message"], c
    assert deployment(fake, ns, "root") is None


def test_replicas_clamped(fake, controller):
    """Two replicas run as asked (any replica serves any kernel) with a PodDisruptionBudget; a hostile count is
    clamped to the controller's maximum of 10 (ReplicasClamped)."""
    ns = "replicas"
    make_namespace(fake, ns)
    fake.api.post(cr_path("jupytergateways", ns), cr("JupyterGateway", "two", {"replicas": 2}))
    d = wait_until(lambda: deployment(fake, ns, "two"), message="the gateway Deployment", details=controller.process.log_tail)
    assert d["spec"]["replicas"] == 2
    budget = wait_until(lambda: fake.get(pdb_path(ns, "two")), message="the PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    fake.api.post(cr_path("jupytergateways", ns), cr("JupyterGateway", "many", {"replicas": 50}))
    d = wait_until(lambda: deployment(fake, ns, "many"), message="the gateway Deployment", details=controller.process.log_tail)
    assert d["spec"]["replicas"] == 10
    wait_until(lambda: condition(fake.get(cr_path("jupytergateways", ns, "many")), "ReplicasClamped"), message="ReplicasClamped")


def pdb_path(ns: str, name: str = "") -> str:
    return f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets" + (f"/{name}" if name else "")


def test_one_replica_keeps_no_disruption_budget(fake, controller):
    """With one effective replica a gateway has no PodDisruptionBudget: one it owns (left from more replicas) is
    deleted at the next reconcile; one it does not own is left alone."""
    ns = "budgets"
    make_namespace(fake, ns)
    for name in ("owned", "foreign"):
        fake.api.post(cr_path("jupytergateways", ns), cr("JupyterGateway", name, {"replicas": 1}))
    gateways = {name: wait_until(lambda name=name: deployment(fake, ns, name) and fake.get(cr_path("jupytergateways", ns, name)),
                                 message=f"gateway {name}", details=controller.process.log_tail)
                for name in ("owned", "foreign")}
    selector = {"matchLabels": {"app.kubernetes.io/component": "gateway", "elastic-jupyter.io/gateway": "owned"}}
    owner = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterGateway", "name": "owned",
             "uid": gateways["owned"]["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    fake.api.post(pdb_path(ns), {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                 "metadata": {"name": "owned", "ownerReferences": [owner]},
                                 "spec": {"maxUnavailable": 1, "selector": selector}})
    fake.api.post(pdb_path(ns), {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "foreign"},
                                 "spec": {"maxUnavailable": 1, "selector": selector}})
    for name in ("owned", "foreign"):  # a spec change: both gateways reconcile again
        fake.api.merge_patch(cr_path("jupytergateways", ns, name), {"spec": {"cullIdleTimeout": 1800}})
    wait_until(lambda: fake.get(pdb_path(ns, "owned")) is None, message="the owned budget deleted",
               details=controller.process.log_tail)

    def reconciled(name):
        obj = fake.get(cr_path("jupytergateways", ns, name))
        return obj["status"].get("observedGeneration") == obj["metadata"]["generation"]
    wait_until(lambda: reconciled("foreign"), message="the foreign gateway reconciled", details=controller.process.log_tail)
    assert fake.get(pdb_path(ns, "foreign")) is not None, "a budget the gateway does not own is never deleted"
    assert deployment(fake, ns, "owned")["spec"]["replicas"] == 1


def test_gateway_image_and_snippet_annotations_refused(fake, controller):
    ns = "gw-image"
    make_namespace(fake, ns)
    fake.api.post(cr_path("jupytergateways", ns), cr("JupyterGateway", "evil", {
        "image": "evil/shell:1", "service": {"annotations": {"nginx.ingress.kubernetes.io/configuration-snippet": "x"}}}))
    c = wait_until(lambda: condition(fake.get(cr_path("jupytergateways", ns, "evil")), "Degraded"), message="Degraded",
                   details=controller.process.log_tail)
    assert "spec.image" in c["message"] and "configuration-snippet" in c["message"], c
    assert deployment(fake, ns, "evil") is None


def test_probe_server_closes_slow_headers(controller):
    import socket
    s = socket.create_connection(("127.0.0.1", controller.health_port), timeout=15)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    s.settimeout(15)
    try:
        data = s.recv(100)
    except OSError:
        data = b""
    elapsed = time.monotonic() - started
    s.close()
    assert data == b"" and elapsed < 12, (data, elapsed)
    assert controller.http(controller.health_port, "/healthz")[0] == 200


def test_every_request_is_allowed_by_the_cluster_role(fake, controller):
    """Runs last in this module: every API request the controller made is allowed by deploy/controller's
    ClusterRole, and every permission that role grants was used here, or is granted on to gateways by the Role
    the controller renders (RBAC forbids granting what one does not hold), or is a finalizers subresource
    (OwnerReferencesPermissionEnforcement, which the fake does not run)."""
    import yaml
    from support import REPO_ROOT, request_permission
    make_namespace(fake, "rbac")
    fake.api.post(cr_path("jupytergateways", "rbac"), cr("JupyterGateway", "gw", {"ingress": {"host": "gw.example"}}))
    if fake.get("/apis/storage.k8s.io/v1/storageclasses/rbac-expandable") is None:
        fake.api.post("/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "rbac-expandable"},
            "provisioner": "example.com/disk", "allowVolumeExpansion": True})
    fake.api.post(cr_path("jupyternotebooks", "rbac"), cr("JupyterNotebook", "nb", {
        "gateway": {"name": "gw"}, "storage": {"storageClassName": "rbac-expandable"}}))
    wait_until(lambda: fake.get("/apis/networking.k8s.io/v1/namespaces/rbac/ingresses/gw"), message="the Ingress",
               details=controller.process.log_tail)
    wait_until(lambda: deployment(fake, "rbac", "nb"), message="the notebook", details=controller.process.log_tail)
    # Drift in every kind of child is repaired with an update.
    children = [core_path("configmaps", "rbac", "gw-kernelspecs"), core_path("services", "rbac", "gw"),
                core_path("serviceaccounts", "rbac", "gw"), core_path("secrets", "rbac", "gw-auth"),
                core_path("persistentvolumeclaims", "rbac", "nb-work"),
                core_path("networkpolicies", "rbac", "gw-kernels", group="networking.k8s.io/v1"),
                core_path("ingresses", "rbac", "gw", group="networking.k8s.io/v1"),
                core_path("roles", "rbac", "gw", group="rbac.authorization.k8s.io/v1"),
                core_path("rolebindings", "rbac", "gw", group="rbac.authorization.k8s.io/v1"),
                core_path("deployments", "rbac", "gw", group="apps/v1")]
    prepull = wait_until(lambda: fake.api.get("/apis/apps/v1/namespaces/rbac/daemonsets")["items"], message="the pre-pull DaemonSet",
                         details=controller.process.log_tail)
    children.append(core_path("daemonsets", "rbac", prepull[0]["metadata"]["name"], group="apps/v1"))
    for path in children:
        fake.api.merge_patch(path, {"metadata": {"labels": {"app.kubernetes.io/managed-by": "tampered"}}})
    for path in children:
        wait_until(lambda: fake.get(path)["metadata"]["labels"]["app.kubernetes.io/managed-by"] != "tampered", timeout=40,
                   message=f"drift repaired in {path}", details=controller.process.log_tail)
    # A bound claim grows with the notebook's storage.size (patch).
    fake.api.merge_patch(core_path("persistentvolumeclaims", "rbac", "nb-work") + "/status", {"status": {"phase": "Bound"}})
    fake.api.merge_patch(cr_path("jupyternotebooks", "rbac", "nb"), {"spec": {"storage": {"size": "20Gi"}}})
    wait_until(lambda: fake.get(core_path("persistentvolumeclaims", "rbac", "nb-work"))["spec"]["resources"]["requests"]["storage"]
               == "20Gi", message="the claim grown", details=controller.process.log_tail)
    gateway_role = fake.get(core_path("roles", "rbac", "gw", group="rbac.authorization.k8s.io/v1"))
    # HTTPS on, then off: the notebook's copy of the gateway's CA is made, then removed (delete).
    fake.api.post(core_path("secrets", "rbac"), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gw-tls"},
                                                 "type": "kubernetes.io/tls",
                                                 "data": {"tls.crt": "Y2E=", "tls.key": "a2V5"}})
    fake.api.merge_patch(cr_path("jupytergateways", "rbac", "gw"), {"spec": {"tls": {"secretName": "gw-tls"}}})
    wait_until(lambda: fake.get(core_path("configmaps", "rbac", "nb-gateway-ca")), message="the notebook's CA copy",
               details=controller.process.log_tail)
    fake.api.merge_patch(cr_path("jupytergateways", "rbac", "gw"), {"spec": {"tls": None}})
    wait_until(lambda: fake.get(core_path("configmaps", "rbac", "nb-gateway-ca")) is None, message="the CA copy removed",
               details=controller.process.log_tail)
    # The Ingress removed (delete), a kernel pod deleted with its gateway.
    fake.api.merge_patch(cr_path("jupytergateways", "rbac", "gw"), {"spec": {"ingress": None}})
    wait_until(lambda: fake.get("/apis/networking.k8s.io/v1/namespaces/rbac/ingresses/gw") is None,
               message="the Ingress removed", details=controller.process.log_tail)
    # Image pre-pulling turned off: its DaemonSet deleted.
    fake.api.merge_patch(cr_path("jupytergateways", "rbac", "gw"), {"spec": {"prePull": {"enabled": False}}})
    wait_until(lambda: not fake.api.get("/apis/apps/v1/namespaces/rbac/daemonsets")["items"], message="the DaemonSet removed",
               details=controller.process.log_tail)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "k1", "labels": {
        "app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": "gw", "kernel_id": "k1"}},
        "spec": {"containers": [{"name": "kernel", "image": "python:3.12"}]}}
    fake.api.post(core_path("pods", "rbac"), pod)
    fake.api.delete(cr_path("jupyternotebooks", "rbac", "nb"))
    fake.api.delete(cr_path("jupytergateways", "rbac", "gw"))
    wait_until(lambda: fake.get(cr_path("jupytergateways", "rbac", "gw")) is None, timeout=40, message="the gateway finalized",
               details=controller.process.log_tail)

    role = yaml.safe_load((REPO_ROOT / "deploy" / "controller" / "clusterrole.yaml").read_text())
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    used = {request_permission(r["method"], r["path"].split("?")[0], r["watch"])
            for r in fake.requests() if r["user"] == "controller-hostile" and "/_fake/" not in r["path"]}
    used = {u for u in used if u[1] != "leases"}  # the leader-election Role (test_resilience)
    granted_on = {(g, r, v) for rule in gateway_role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
                  for v in rule["verbs"]}
    finalizers = {p for p in granted if p[1].endswith("/finalizers")}
    assert used <= granted, f"requests the ClusterRole does not allow: {sorted(used - granted)}"
    assert granted_on <= granted, f"the gateway Role grants what the controller does not hold: {sorted(granted_on - granted)}"
    assert MULTI_REPLICA_ONLY <= granted and not MULTI_REPLICA_ONLY & used, "update MULTI_REPLICA_ONLY"
    unused = granted - used - granted_on - finalizers - MULTI_REPLICA_ONLY
    assert not unused, f"granted but never used: {sorted(unused)}"


# Permissions no test here reaches: updating a gateway's PodDisruptionBudget (only when someone edited it: its spec
# never changes with the replica count). Tests/JupyterControllerTests/GatewayReplicaTests renders it;
# test_replicas_clamped creates one, test_one_replica_keeps_no_disruption_budget gets and deletes one.
MULTI_REPLICA_ONLY = {("policy", "poddisruptionbudgets", "update")}
