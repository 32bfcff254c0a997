"""Issue 17 items 1-2 on pods: users from a Secret (``--users-secret``, data key ``users.yaml``, followed through a
watch), the owner recorded on the kernel pod (label ``elastic-jupyter.io/user-hash`` = the first 40 hex digits of
SHA-256 of the name, annotation ``elastic-jupyter.io/user``), and ownership surviving adoption by a new gateway.
"""

from __future__ import annotations

import base64
import hashlib

from helpers import Rest, ws_handshake_status
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
