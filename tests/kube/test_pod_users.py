"""Issue 17 items 1-2 on pods: users from a Secret (``--users-secret``, data key ``users.yaml``, followed through a
watch), the owner recorded on the kernel pod (label ``elastic-jupyter.io/user-hash`` = the first 40 hex digits of
SHA-256 of the name, annotation ``elastic-jupyter.io/user``), and ownership surviving adoption by a new gateway.
"""

from __future__ import annotations

import base64
import hashlib

from helpers import KernelWS, Rest, ws_handshake_status
from podkit import kill_hard, successor, wait_until

ADMIN_TOKEN = "kube-itest-gateway-admin-token-0123"
TOKENS = {"alice": "alice-pod-token-0123456789", "bob": "bob-pod-token-0123456789", "carol": "carol-pod-token-0123456789"}
SECRET = "gw-users"
RELOAD_TIMEOUT = 10


def users_secret(namespace: str, *names: str) -> dict:
    text = "users:\n" + "".join(
        f'  - name: {n}\n    tokenSHA256: "{hashlib.sha256(TOKENS[n].encode()).hexdigest()}"\n' for n in names)
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": SECRET, "namespace": namespace},
            "data": {"users.yaml": base64.b64encode(text.encode()).decode()}}


def set_users(cluster, *names: str):
    """Rewrites the users Secret's ``users.yaml`` (as an operator or the controller would)."""
    data = users_secret(cluster.namespace, *names)["data"]
    cluster.kube.patch_object("v1", "Secret", SECRET, {"data": data}, cluster.namespace)


def start_with_users(factory_or_gw, cluster, specs_dir=None, *, old=None):
    """A gateway (or, with ``old``, its successor) that reads its users from the Secret, with an admin token too."""
    if old is None:
        g = factory_or_gw(specs_dir, cluster.kubeconfig, extra_args=["--users-secret", SECRET], start=False)
    else:
        g = successor(factory_or_gw, old, same_port=False, start=False)
    g.config.allow_unauthenticated = False
    g.config.auth_token = ADMIN_TOKEN
    g.rest.token = ADMIN_TOKEN
    return g.start()


def as_user(gw, name: str) -> Rest:
    return Rest(gw.http_url, gw.base_url, TOKENS[name])


def status(rest: Rest, method: str, path: str) -> int:
    return rest.request(method, path, timeout=30).status_code


def test_users_secret_owner_on_the_pod_and_ownership_after_adoption(cluster, specs_dir, gateways):
    cluster.kube.create_object(users_secret(cluster.namespace, "alice", "bob"))
    gw = start_with_users(gateways, cluster, specs_dir)
    alice, bob, carol = as_user(gw, "alice"), as_user(gw, "bob"), as_user(gw, "carol")

    r = alice.post("api/kernels", json={"name": "pod_echo", "env": {"KERNEL_USERNAME": "bob"}}, timeout=90)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    pod = cluster.kernel_pod(kid)
    expected_hash = hashlib.sha256(b"alice").hexdigest()[:40]
    assert pod["metadata"]["labels"]["elastic-jupyter.io/user-hash"] == expected_hash
    assert pod["metadata"]["annotations"]["elastic-jupyter.io/user"] == "alice"
    assert status(bob, "GET", f"api/kernels/{kid}") == 404
    assert {k["id"] for k in alice.get("api/kernels").json()} == {kid}

    # the Secret changes: carol is added and bob revoked, without a restart
    set_users(cluster, "alice", "carol")
    wait_until(lambda: status(carol, "GET", "api/kernels") == 200, RELOAD_TIMEOUT, 0.1, what="a new user to work")
    wait_until(lambda: status(bob, "GET", "api/kernels") == 401, RELOAD_TIMEOUT, 0.1, what="a revoked user to be refused")
    set_users(cluster, "alice", "bob", "carol")
    wait_until(lambda: status(bob, "GET", "api/kernels") == 200, RELOAD_TIMEOUT, 0.1, what="bob to be back")

    # a new gateway process adopts the kernel: still alice's, and bob still gets 404 everywhere
    kill_hard(gw)
    new = start_with_users(gateways, cluster, old=gw)
    alice, bob = as_user(new, "alice"), as_user(new, "bob")
    wait_until(lambda: kid in {k["id"] for k in new.rest.get("api/kernels").json()}, 30, 0.2, what="the kernel adopted")
    assert {k["id"] for k in alice.get("api/kernels").json()} == {kid}
    assert bob.get("api/kernels").json() == []
    for method, path in (("GET", f"api/kernels/{kid}"), ("POST", f"api/kernels/{kid}/interrupt"),
                         ("POST", f"api/kernels/{kid}/restart"), ("DELETE", f"api/kernels/{kid}")):
        assert status(bob, method, path) == 404, (method, path)
    assert ws_handshake_status(new.ws_url(kid), headers=[f"Authorization: token {TOKENS['bob']}"]) == 404
    assert status(alice, "GET", f"api/kernels/{kid}") == 200
    assert status(alice, "DELETE", f"api/kernels/{kid}") == 204
    # a deleted users Secret leaves no users: only the gateway's own token still works
    cluster.kube.delete_object("v1", "Secret", SECRET, cluster.namespace)
    wait_until(lambda: status(alice, "GET", "api/kernels") == 401, RELOAD_TIMEOUT, 0.1, what="users gone with their Secret")
    assert new.rest.get("api/kernels").status_code == 200
    cluster.wait_clean()


# --------------------------------------------------------------------------------------------
# issue 17 item 4: a user's workspace (claim, mount path, namespace) from the users entry
# --------------------------------------------------------------------------------------------

TEAM_NS = "team-a"
MOUNT = "/home/jovyan/work"


def users_secret_with_workspace(namespace: str) -> dict:
    """alice's entry names her workspace (claim alice-work in team-a, as the controller writes it); bob's none."""
    text = ("users:\n"
            f'  - name: alice\n    tokenSHA256: "{hashlib.sha256(TOKENS["alice"].encode()).hexdigest()}"\n'
            f'    workspace: {{claim: alice-work, mountPath: "{MOUNT}", namespace: {TEAM_NS}}}\n'
            f'  - name: bob\n    tokenSHA256: "{hashlib.sha256(TOKENS["bob"].encode()).hexdigest()}"\n')
    secret = users_secret(namespace)
    secret["data"] = {"users.yaml": base64.b64encode(text.encode()).decode()}
    return secret


def workspace_mounts(pod: dict) -> tuple[list, list]:
    volumes = [v for v in pod["spec"].get("volumes") or [] if v.get("persistentVolumeClaim")]
    mounts = [m for c in pod["spec"]["containers"] for m in c.get("volumeMounts") or [] if m["name"] == "workspace"]
    return volumes, mounts


def test_a_users_kernels_run_in_their_workspace_namespace_with_their_files_and_keep_them_after_adoption(
        cluster, specs_dir, gateways):
    kube = cluster.kube
    if kube.get_object("v1", "Namespace", TEAM_NS) is None:
        kube.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TEAM_NS}})
    # the claim's files, as the notebook server wrote them (the kubelet double keeps a claim in a host directory)
    claim_dir = cluster.kubelet.workdir / "pvc" / TEAM_NS / "alice-work"
    (claim_dir / "analysis").mkdir(parents=True, exist_ok=True)
    (claim_dir / "analysis" / "data.txt").write_text("alice's numbers")
    kube.create_object(users_secret_with_workspace(cluster.namespace))
    gw = start_with_users(gateways, cluster, specs_dir)
    alice, bob = as_user(gw, "alice"), as_user(gw, "bob")

    r = alice.post("api/kernels", json={"name": "pod_python", "path": "analysis/report.ipynb"}, timeout=90)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    assert cluster.kernel_pod(kid) is None, "alice's kernel is not in the gateway's namespace"
    pods = kube.list_objects("v1", "Pod", TEAM_NS, label_selector=f"kernel_id={kid}")
    assert len(pods) == 1
    pod = pods[0]
    volumes, mounts = workspace_mounts(pod)
    assert [v["persistentVolumeClaim"]["claimName"] for v in volumes] == ["alice-work"]
    assert [m["mountPath"] for m in mounts] == [MOUNT]
    assert pod["spec"]["containers"][0]["workingDir"] == f"{MOUNT}/analysis"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["KERNEL_NAMESPACE"] == TEAM_NS
    secrets = kube.list_objects("v1", "Secret", TEAM_NS, label_selector=f"kernel_id={kid}")
    assert len(secrets) == 1, "the connection Secret sits beside its pod"
    with KernelWS(gw.ws_url(kid), token=TOKENS["alice"]) as ws:
        assert ws.execute_ok("print(open('data.txt').read())").strip() == "alice's numbers"

    # bob has no workspace: his kernel runs in the gateway's namespace without any claim
    r = bob.post("api/kernels", json={"name": "pod_python", "path": "analysis/report.ipynb"}, timeout=90)
    assert r.status_code == 201, r.text
    bob_kid = r.json()["id"]
    bob_pod = cluster.kernel_pod(bob_kid)
    assert bob_pod is not None and workspace_mounts(bob_pod) == ([], [])
    # an admin acting for alice does not get her files either
    r = gw.rest.post("api/kernels", json={"name": "pod_echo", "env": {"KERNEL_USERNAME": "alice"}}, timeout=90)
    assert r.status_code == 201, r.text
    admin_pod = cluster.kernel_pod(r.json()["id"])
    assert admin_pod is not None and workspace_mounts(admin_pod) == ([], [])
    assert gw.rest.delete(f"api/kernels/{r.json()['id']}").status_code == 204

    # a new gateway process adopts alice's kernel from team-a; when its pod is lost, the relaunch lands in team-a
    # again with her files, in the notebook's directory
    kill_hard(gw)
    new = start_with_users(gateways, cluster, old=gw)
    alice = as_user(new, "alice")
    wait_until(lambda: kid in {k["id"] for k in alice.get("api/kernels").json()}, 30, 0.2, what="alice's kernel adopted")
    with KernelWS(new.ws_url(kid), token=TOKENS["alice"]) as ws:
        assert ws.execute_ok("print(open('data.txt').read())").strip() == "alice's numbers"
    kube.delete_object("v1", "Pod", pod["metadata"]["name"], TEAM_NS)

    def relaunched():
        pods = kube.list_objects("v1", "Pod", TEAM_NS, label_selector=f"kernel_id={kid}")
        return [p for p in pods if not p["metadata"].get("deletionTimestamp") and p["metadata"]["uid"] != pod["metadata"]["uid"]
                and (p.get("status") or {}).get("phase") == "Running"]
    live = wait_until(relaunched, 60, 0.2, what="alice's kernel relaunched in team-a")
    assert len(live) == 1 and cluster.kernel_pod(kid) is None
    assert workspace_mounts(live[0])[0][0]["persistentVolumeClaim"]["claimName"] == "alice-work"
    assert live[0]["spec"]["containers"][0]["workingDir"] == f"{MOUNT}/analysis"
    with KernelWS(new.ws_url(kid), token=TOKENS["alice"]) as ws:
        assert ws.execute_ok("print(open('data.txt').read())").strip() == "alice's numbers"
    assert alice.delete(f"api/kernels/{kid}").status_code == 204
    assert as_user(new, "bob").delete(f"api/kernels/{bob_kid}").status_code == 204
    wait_until(lambda: not kube.list_objects("v1", "Pod", TEAM_NS) and not kube.list_objects("v1", "Secret", TEAM_NS),
               30, 0.2, what="alice's pod and Secret gone from team-a")
    kube.delete_object("v1", "Secret", SECRET, cluster.namespace)
    cluster.wait_clean()
