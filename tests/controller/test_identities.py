"""Issue 17 (controller side): every notebook gets its own gateway token, the gateway's users Secret holds its
SHA-256 and workspace, deleting a notebook removes its entry and exactly its user's kernel pods, tokens rotate by
deleting a Secret, and a notebook trusts an HTTPS gateway's CA. The real controller binary against the fake API
server."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import yaml

from fakekube.client import KubeClientError
from support import GROUP, VERSION, Controller, condition, core_path, cr_path, env_of, secret_value, wait_until

NS = "identities"


def make_namespace(fake, name: str) -> None:
    if fake.get(f"/api/v1/namespaces/{name}") is None:
        fake.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def cr(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def user_hash(user: str) -> str:
    return sha256(user)[:40]


def deployment(fake, ns: str, name: str) -> dict | None:
    return fake.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")


def users(fake, ns: str, gateway: str) -> dict[str, dict]:
    """The entries of a gateway's users Secret, by name."""
    secret = fake.get(core_path("secrets", ns, f"{gateway}-users"))
    if not secret:
        return {}
    document = yaml.safe_load(secret_value(secret, "users.yaml"))
    return {entry["name"]: entry for entry in document["users"] or []}


def own_token(fake, ns: str, notebook: str) -> str | None:
    secret = fake.get(core_path("secrets", ns, f"{notebook}-gateway-token"))
    return secret_value(secret, "token") if secret else None


def kernel(name: str, gateway: str, user: str) -> dict:
    labels = {"app.kubernetes.io/component": "kernel", "elastic-jupyter.io/gateway": gateway,
              "elastic-jupyter.io/user-hash": user_hash(user), "kernel_id": name}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "kernel", "image": "python:3.12"}]}}


def live_pods(fake, ns: str) -> set[str]:
    return {p["metadata"]["name"] for p in fake.api.get(core_path("pods", ns))["items"]
            if not p["metadata"].get("deletionTimestamp")}


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    make_namespace(fake, NS)
    c = Controller(fake.kubeconfig_for("controller-identities"), log_dir, name="controller-identities").wait_ready()
    fake.api.post(cr_path("jupytergateways", NS), cr("JupyterGateway", "gw", {}))
    fake.api.post(cr_path("jupytergateways", NS), cr("JupyterGateway", "gw2", {}))
    yield c
    assert c.stop() == 0


def test_a_notebook_gets_its_own_token_and_an_entry_with_its_workspace(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "alice", {"gateway": {"name": "gw"}, "user": "alice"}))
    token = wait_until(lambda: own_token(fake, NS, "alice"), message="alice's own gateway token",
                       details=controller.process.log_tail)
    assert len(token) == 64 and int(token, 16) >= 0, "32 random bytes as hex"
    secret = wait_until(lambda: fake.get(core_path("secrets", NS, "alice-gateway-token")), message="alice's token Secret")
    owner = secret["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("JupyterNotebook", "alice", True)

    entry = wait_until(lambda: users(fake, NS, "gw").get("alice"), message="alice's users entry",
                       details=controller.process.log_tail)
    assert entry == {"name": "alice", "tokenSHA256": sha256(token), "namespace": NS,
                     "workspace": {"claim": "alice-work", "mountPath": "/home/jovyan/work", "namespace": NS,
                                   # a ReadWriteOnce claim (the default): kernels must share the notebook pod's node
                                   "notebookPodLabels": {"app.kubernetes.io/component": "notebook",
                                                         "elastic-jupyter.io/notebook": "alice"}}}
    users_secret = fake.get(core_path("secrets", NS, "gw-users"))
    assert users_secret["metadata"]["ownerReferences"][0]["kind"] == "JupyterGateway"
    assert token not in json.dumps(users_secret), "only the hash is stored"

    nb = wait_until(lambda: deployment(fake, NS, "alice"), message="alice's Deployment")
    env = env_of(nb["spec"]["template"]["spec"]["containers"][0])
    assert env["JUPYTER_GATEWAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "alice-gateway-token", "key": "token"}
    assert env["KERNEL_USERNAME"]["value"] == "alice"
    assert "JUPYTER_GATEWAY_CA_CERTS" not in env
    # The gateway's shared token reaches no notebook: not its pod spec, not a Secret of its namespace but the gateway's.
    shared = wait_until(lambda: secret_value(fake.get(core_path("secrets", NS, "gw-auth")), "token"), message="gw's token")
    assert shared not in json.dumps(nb)
    holders = [s["metadata"]["name"] for s in fake.api.get(core_path("secrets", NS))["items"]
               if shared in {base64.b64decode(v).decode(errors="replace") for v in (s.get("data") or {}).values()}]
    assert holders == ["gw-auth"], holders

    gateway = wait_until(lambda: deployment(fake, NS, "gw"), message="gw's Deployment")
    assert env_of(gateway["spec"]["template"]["spec"]["containers"][0])["EJ_USERS_SECRET"]["value"] == "gw-users"
    role = wait_until(lambda: fake.get(core_path("roles", NS, "gw", group="rbac.authorization.k8s.io/v1")), message="gw's Role")
    assert {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["gw-users"],
            "verbs": ["get", "list", "watch"]} in role["rules"]


def test_a_second_notebook_adds_an_entry_and_a_taken_user_is_a_conflict(fake, controller):
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "bob", {
        "gateway": {"name": "gw"}, "storage": {"enabled": False}}))
    entries = wait_until(lambda: len(users(fake, NS, "gw")) == 2 and users(fake, NS, "gw"), message="two entries",
                         details=controller.process.log_tail)
    bob = f"{NS}-bob"  # the default user: <namespace>-<name>
    assert list(entries) == ["alice", bob], "sorted by name"
    bob_token = wait_until(lambda: own_token(fake, NS, "bob"), message="bob's token Secret")
    assert entries[bob] == {"name": bob, "tokenSHA256": sha256(bob_token), "namespace": NS}, \
        "no storage, no workspace"

    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "alice-again", {
        "gateway": {"name": "gw"}, "user": "alice"}))
    conflict = wait_until(lambda: condition(fake.get(cr_path("jupyternotebooks", NS, "alice-again")), "UserConflict"),
                          message="UserConflict on the newer notebook", details=controller.process.log_tail)
    assert "alice" in conflict["message"] and f"{NS}/alice" in conflict["message"], conflict
    assert deployment(fake, NS, "alice-again") is None
    assert users(fake, NS, "gw")["alice"]["tokenSHA256"] == sha256(own_token(fake, NS, "alice"))
    assert condition(fake.get(cr_path("jupyternotebooks", NS, "alice")), "UserConflict") is None

    # An unsafe spec.user is refused by the CRD's pattern here; the controller checks it again (InvalidSpec, see
    # Tests/JupyterControllerTests/IdentityTests) for API servers that did not validate.
    with pytest.raises(KubeClientError) as refused:
        fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "bad-user", {
            "gateway": {"name": "gw"}, "user": "-x\nadmin: true"}))
    assert refused.value.status == 422
    fake.api.delete(cr_path("jupyternotebooks", NS, "alice-again"))


def test_stopping_a_notebook_scales_it_to_zero_shuts_its_kernels_and_refuses_its_token(fake, controller):
    """`spec.stopped` (issue 19 item 3, issue 17 item 3): JupyterLab at zero replicas, the claim kept, the user's
    kernels on the gateway deleted (marked as ended on purpose, so the gateway does not relaunch them), the users
    entry gone; `stopped: false` brings back the pod and the entry with the same token."""
    wait_until(lambda: "alice" in users(fake, NS, "gw"), message="alice's entry", details=controller.process.log_tail)
    token_hash = users(fake, NS, "gw")["alice"]["tokenSHA256"]
    for pod in (kernel("alice-stop-k1", "gw", "alice"), kernel("other-user-k", "gw", "someone-else")):
        fake.api.post(core_path("pods", NS), pod)
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "alice"), {"spec": {"stopped": True}})
    wait_until(lambda: deployment(fake, NS, "alice")["spec"]["replicas"] == 0, message="JupyterLab scaled to zero",
               details=controller.process.log_tail)
    wait_until(lambda: "alice" not in users(fake, NS, "gw"), message="alice's entry withdrawn", details=controller.process.log_tail)
    wait_until(lambda: "alice-stop-k1" not in live_pods(fake, NS), message="alice's kernel shut down",
               details=controller.process.log_tail)
    assert "other-user-k" in live_pods(fake, NS), "another user's kernel stays"
    assert fake.get(core_path("persistentvolumeclaims", NS, "alice-work")) is not None, "her files stay"
    wait_until(lambda: (fake.get(cr_path("jupyternotebooks", NS, "alice")).get("status") or {}).get("phase") == "Stopped",
               message="phase Stopped", details=controller.process.log_tail)
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "alice"), {"spec": {"stopped": False}})
    wait_until(lambda: deployment(fake, NS, "alice")["spec"]["replicas"] == 1, message="JupyterLab back",
               details=controller.process.log_tail)
    wait_until(lambda: users(fake, NS, "gw").get("alice", {}).get("tokenSHA256") == token_hash,
               message="alice's entry back with the same token", details=controller.process.log_tail)
    fake.api.delete(core_path("pods", NS, "other-user-k"))


def test_a_claim_that_stays_pending_gets_a_condition_naming_the_cause_and_the_fix(fake, controller):
    """Issue 19 item 3: a notebook's claim that no StorageClass provisions (the bare fake binds nothing) gets the
    condition ClaimPending: no default StorageClass, then (one named) a StorageClass that does not exist, then a
    default one present but the claim still unbound."""
    def claim_condition(name):
        status = fake.get(cr_path("jupyternotebooks", NS, name)).get("status") or {}
        return next((c for c in status.get("conditions") or [] if c["type"] == "ClaimPending"), None)
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "erin", {"gateway": {"name": "gw"}}))
    found = wait_until(lambda: claim_condition("erin"), timeout=30, message="ClaimPending on erin",
                       details=controller.process.log_tail)
    assert found["reason"] == "NoDefaultStorageClass", found
    assert "spec.storage.storageClassName" in found["message"] and "spec.storage.enabled: false" in found["message"]
    fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", "fred", {
        "gateway": {"name": "gw"}, "storage": {"storageClassName": "fast-ssd"}}))
    found = wait_until(lambda: claim_condition("fred"), timeout=30, message="ClaimPending on fred",
                       details=controller.process.log_tail)
    assert found["reason"] == "StorageClassNotFound" and "fast-ssd" in found["message"], found
    fake.api.post("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/none",
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}})
    fake.api.merge_patch(cr_path("jupyternotebooks", NS, "erin"), {"metadata": {"labels": {"poke": "1"}}})
    wait_until(lambda: (claim_condition("erin") or {}).get("reason") == "ClaimPending", timeout=60,
               message="a default StorageClass exists: the claim is just not bound yet", details=controller.process.log_tail)
    for name in ("erin", "fred"):
        fake.api.delete(cr_path("jupyternotebooks", NS, name))
        wait_until(lambda: fake.get(cr_path("jupyternotebooks", NS, name)) is None, message=f"{name} gone",
                   details=controller.process.log_tail)


def test_deleting_a_notebook_removes_its_entry_and_exactly_its_kernels(fake, controller):
    bob = f"{NS}-bob"
    wait_until(lambda: bob in users(fake, NS, "gw"), message="bob's entry", details=controller.process.log_tail)
    for pod in (kernel("bob-k1", "gw", bob), kernel("bob-k2", "gw", bob), kernel("alice-k1", "gw", "alice"),
                kernel("bob-on-gw2", "gw2", bob)):
        fake.api.post(core_path("pods", NS), pod)
    wait_until(lambda: (fake.get(cr_path("jupyternotebooks", NS, "bob")).get("status") or {}).get("kernels") == 2,
               message="bob's notebook counts his 2 kernels on gw", details=controller.process.log_tail)

    fake.api.delete(cr_path("jupyternotebooks", NS, "bob"))
    wait_until(lambda: fake.get(cr_path("jupyternotebooks", NS, "bob")) is None, message="bob's notebook gone",
               details=controller.process.log_tail)
    assert set(users(fake, NS, "gw")) == {"alice"}, "bob's entry removed"
    pods = live_pods(fake, NS)
    assert not pods & {"bob-k1", "bob-k2"}, pods
    assert {"alice-k1", "bob-on-gw2"} <= pods, "another user's kernels and another gateway's stay"


def test_notebooks_reconciling_at_once_converge_on_one_users_secret(fake, controller):
    """Six notebooks created at once, while updates of the users Secret meet 409 conflicts: every entry lands."""
    rule = fake.add_fault(method="PUT", path="/secrets/gw-users$", status=409, count=3, userAgent="^elastic-jupyter")
    crowd = [f"crowd-{i}" for i in range(6)]
    for name in crowd:
        fake.api.post(cr_path("jupyternotebooks", NS), cr("JupyterNotebook", name, {
            "gateway": {"name": "gw"}, "storage": {"enabled": False}}))
    expected = {f"{NS}-{name}" for name in crowd}
    wait_until(lambda: expected <= set(users(fake, NS, "gw")), timeout=30, message="every crowd entry",
               details=controller.process.log_tail)
    assert {f["id"]: f["hits"] for f in fake.faults()}[rule["id"]] >= 1, "conflicts were met"
    entries = users(fake, NS, "gw")
    for name in crowd:
        assert entries[f"{NS}-{name}"]["tokenSHA256"] == sha256(own_token(fake, NS, name))
    fake.clear_faults()
    for name in crowd:
        fake.api.delete(cr_path("jupyternotebooks", NS, name))
    wait_until(lambda: not expected & set(users(fake, NS, "gw")), timeout=30, message="the crowd's entries removed",
               details=controller.process.log_tail)
    assert "alice" in users(fake, NS, "gw")


def test_deleting_the_token_secret_rotates_the_token(fake, controller):
    before = wait_until(lambda: own_token(fake, NS, "alice"), message="alice's token")
    hash_of = lambda: deployment(fake, NS, "alice")["spec"]["template"]["metadata"]["annotations"]["elastic-jupyter.io/config-hash"]  # noqa: E731
    pod_hash = hash_of()
    fake.api.delete(core_path("secrets", NS, "alice-gateway-token"))
    def new_token():
        token = own_token(fake, NS, "alice")  # read once: the Secret may be gone between two reads
        return token if token and token != before else None
    after = wait_until(new_token, timeout=40, message="a new token", details=controller.process.log_tail)
    wait_until(lambda: users(fake, NS, "gw")["alice"]["tokenSHA256"] == sha256(after), message="the new hash",
               details=controller.process.log_tail)
    wait_until(lambda: hash_of() != pod_hash, message="the notebook pod rolls", details=controller.process.log_tail)
    assert sha256(before) not in json.dumps(fake.get(core_path("secrets", NS, "gw-users")))


def test_a_notebook_trusts_an_https_gateway(fake, controller):
    make_namespace(fake, "tls-gw")
    make_namespace(fake, "tls-nb")
    ca = "-----BEGIN CERTIFICATE-----\nMIIB-test-ca\n-----END CERTIFICATE-----\n"
    fake.api.post(core_path("secrets", "tls-gw"), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "gw-tls"}, "type": "kubernetes.io/tls",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in
                 {"tls.crt": "server-cert", "tls.key": "server-key", "ca.crt": ca}.items()}})
    fake.api.post(cr_path("jupytergateways", "tls-gw"), cr("JupyterGateway", "secure", {
        "tls": {"secretName": "gw-tls"}, "allowedNamespaces": {"names": ["tls-nb"]}}))
    fake.api.post(cr_path("jupyternotebooks", "tls-nb"), cr("JupyterNotebook", "dave", {
        "gateway": {"name": "secure", "namespace": "tls-gw"}, "user": "dave",
        "storage": {"existingClaim": "shared-home", "accessModes": ["ReadWriteMany"]}}))
    nb = wait_until(lambda: deployment(fake, "tls-nb", "dave"), message="dave's Deployment", details=controller.process.log_tail)
    pod = nb["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    assert env["JUPYTER_GATEWAY_URL"]["value"] == "https://secure.tls-gw:8888"
    assert env["JUPYTER_GATEWAY_CA_CERTS"]["value"] == "/etc/elastic-jupyter/gateway-ca/ca.crt"
    volume = next(v for v in pod["volumes"] if v["name"] == "gateway-ca")
    assert volume["configMap"]["name"] == "dave-gateway-ca"
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "gateway-ca")
    assert mount["mountPath"] == "/etc/elastic-jupyter/gateway-ca" and mount["readOnly"]
    copy = fake.get(core_path("configmaps", "tls-nb", "dave-gateway-ca"))
    assert copy["data"] == {"ca.crt": ca}, "only the CA is copied, never the key"
    entry = wait_until(lambda: users(fake, "tls-gw", "secure").get("dave"), message="dave's entry on the TLS gateway")
    assert entry["workspace"] == {"claim": "shared-home", "mountPath": "/home/jovyan/work", "namespace": "tls-nb"}, \
        "a ReadWriteMany claim: any node, no notebookPodLabels"
