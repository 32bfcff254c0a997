"""Users, tokens and ownership (issue 17 items 1-2): a gateway run with ``--users-file``.

alice (at most 1 kernel, echo and python3), bob (any kernelspec) and ops (an admin from the file), plus the
gateway's own ``--auth-token`` (an admin with no name). Each user sees and uses only their own kernels and sessions:
someone else's kernel answers exactly as an id that does not exist. The file is re-read while the gateway runs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from helpers import KernelWS, Rest, assert_json_error, wait_until, ws_handshake_status
from procs import EJ_BINARY, IMPL, clean_env

pytestmark = pytest.mark.skipif(IMPL != "ej", reason="users files are an ElasticJupyter feature")

GATEWAY_TOKEN = "itest-gateway-admin-token-0123456789"
TOKENS = {"alice": "alice-token-0123456789abcdef", "bob": "bob-token-0123456789abcdef",
          "ops": "ops-token-0123456789abcdef", "carol": "carol-token-0123456789abcdef"}
RELOAD_TIMEOUT = 10  # the file is polled every 2 s


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def users_yaml(*names: str) -> str:
    entries = {
        "alice": f'  - name: alice\n    tokenSHA256: "{sha(TOKENS["alice"])}"\n    maxKernels: 1\n'
                 f'    kernelspecs: [echo, python3]\n',
        "bob": f'  - name: bob\n    tokenSHA256: "{sha(TOKENS["bob"])}"\n',
        "ops": f'  - name: ops\n    tokenSHA256: "{sha(TOKENS["ops"])}"\n    admin: true\n',
        "carol": f'  - name: carol\n    tokenSHA256: "{sha(TOKENS["carol"])}"\n    kernelspecs: [python3]\n'
                 f'    workspace: {{claim: carol-home, mountPath: /home/jovyan/work, namespace: team-a, path: notebooks,\n'
                 f'      notebookPodLabels: {{app.kubernetes.io/component: notebook, elastic-jupyter.io/notebook: carol}}}}\n',
    }
    return "users:\n" + "".join(entries[n] for n in names)


def write_atomically(path: Path, text: str):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def users_file(tmp_path) -> Path:
    path = tmp_path / "users.yaml"
    path.write_text(users_yaml("alice", "bob", "ops"))
    return path


@pytest.fixture
def gw(gateways, echo_kernelspecs_dir, users_file):
    return gateways("users", kernelspec_dirs=[echo_kernelspecs_dir], default_kernel="echo", auth_token=GATEWAY_TOKEN,
                    allow_unauthenticated=False, extra_args=["--users-file", str(users_file)])


def as_user(gw, name: str) -> Rest:
    return Rest(gw.http_url, gw.base_url, TOKENS[name] if name in TOKENS else GATEWAY_TOKEN)


def not_found_body(rest: Rest, method: str, path: str, real_id: str, json_body=None) -> dict:
    """The error body of a request naming someone else's kernel, with the id masked; checks it is the body of an id
    that does not exist. ``json_body(id)`` gives the request's body, if any."""
    def send(kernel_id):
        kw = {"json": json_body(kernel_id)} if json_body else {}
        return rest.request(method, path.format(id=kernel_id), **kw)
    foreign = send(real_id)
    missing_id = str(uuid.uuid4())
    missing = send(missing_id)
    body = assert_json_error(foreign, 404)
    assert_json_error(missing, 404)
    masked = {k: v.replace(real_id, "ID") for k, v in body.items()}
    assert masked == {k: v.replace(missing_id, "ID") for k, v in missing.json().items()}, (foreign.text, missing.text)
    return body


def kernel_ids(rest: Rest) -> set[str]:
    r = rest.get("api/kernels")
    assert r.status_code == 200, r.text
    return {k["id"] for k in r.json()}


def test_tokens_resolve_to_users(gw):
    assert_json_error(Rest(gw.http_url, gw.base_url).get("api/kernels"), 401)
    assert_json_error(Rest(gw.http_url, gw.base_url, "not-a-user-token").get("api/kernels"), 401)
    assert_json_error(Rest(gw.http_url, gw.base_url, sha(TOKENS["alice"])).get("api/kernels"), 401)  # a hash is no token
    for name in ("alice", "bob", "ops", "gateway"):
        assert as_user(gw, name).get("api/kernels").status_code == 200, name


def test_bob_gets_404_on_alice_kernel_everywhere(gw):
    alice, bob = as_user(gw, "alice"), as_user(gw, "bob")
    kid = alice.start_kernel("echo")["id"]
    for method, path in (("GET", "api/kernels/{id}"), ("POST", "api/kernels/{id}/interrupt"),
                         ("POST", "api/kernels/{id}/restart"), ("DELETE", "api/kernels/{id}")):
        not_found_body(bob, method, path, kid)
    assert ws_handshake_status(gw.ws_url(kid), headers=[f"Authorization: token {TOKENS['bob']}"]) == 404
    assert kid not in kernel_ids(bob)
    # a session naming alice's kernel is refused as for a kernel that does not exist
    not_found_body(bob, "POST", "api/sessions", kid,
                   json_body=lambda i: {"path": "steal.ipynb", "type": "notebook", "kernel": {"id": i}})
    # alice's own kernel still works for her, WebSocket included, and is untouched
    assert alice.kernel(kid).status_code == 200
    with KernelWS(gw.ws_url(kid), token=TOKENS["alice"]) as ws:
        assert ws.protocol in ("legacy", "v1")
    assert alice.post(f"api/kernels/{kid}/interrupt").status_code == 204
    assert alice.delete_kernel(kid).status_code == 204


def test_sessions_are_scoped_by_user(gw):
    alice, bob, ops = as_user(gw, "alice"), as_user(gw, "bob"), as_user(gw, "ops")
    body = {"path": "Untitled.ipynb", "type": "notebook", "kernel": {"name": "echo"}}
    a = alice.post("api/sessions", json=body)
    b = bob.post("api/sessions", json=body)
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    a, b = a.json(), b.json()
    assert a["id"] != b["id"] and a["kernel"]["id"] != b["kernel"]["id"]
    # the same user and path is the same session
    assert alice.post("api/sessions", json=body).json()["id"] == a["id"]
    assert {s["id"] for s in alice.get("api/sessions").json()} == {a["id"]}
    assert {s["id"] for s in bob.get("api/sessions").json()} == {b["id"]}
    assert {a["id"], b["id"]} <= {s["id"] for s in ops.get("api/sessions").json()}
    for method, kw in (("GET", {}), ("PATCH", {"json": {"name": "x"}}), ("DELETE", {})):
        r = bob.request(method, f"api/sessions/{a['id']}", **kw)
        assert_json_error(r, 404)
        assert r.json()["message"] == "Session not found"
    assert alice.get(f"api/sessions/{a['id']}").status_code == 200
    for rest, s in ((alice, a), (bob, b)):
        assert rest.delete(f"api/sessions/{s['id']}").status_code == 204
    assert kernel_ids(ops) & {a["kernel"]["id"], b["kernel"]["id"]} == set()


def test_claimed_username_is_replaced_and_admins_see_all(gw, echo_kernelspecs_dir):
    alice, bob, ops, admin = (as_user(gw, n) for n in ("alice", "bob", "ops", "gateway"))
    bobs = bob.start_kernel("echo", env={"KERNEL_USERNAME": "alice"})["id"]
    alices = alice.start_kernel("echo")["id"]
    assert kernel_ids(bob) == {bobs}
    assert kernel_ids(alice) == {alices}  # bob's kernel is not alice's, whatever he claimed
    assert alice.kernel(bobs).status_code == 404
    assert {bobs, alices} <= kernel_ids(ops) and {bobs, alices} <= kernel_ids(admin)
    # the owner is what the gateway recorded: ?user= filters by it
    assert {k["id"] for k in ops.get("api/kernels", params={"user": "bob"}).json()} == {bobs}
    # an admin acts for any user: its KERNEL_USERNAME decides, and that user owns the kernel
    for_bob = ops.start_kernel("echo", env={"KERNEL_USERNAME": "bob"})["id"]
    assert kernel_ids(bob) == {bobs, for_bob}
    # admins may act on anyone's kernel
    for kid in (bobs, alices, for_bob):
        assert admin.delete_kernel(kid).status_code == 204
    log = gw.log_path.read_text(errors="replace")
    assert log.count("ignoring the KERNEL_USERNAME a user claimed") == 1


def test_claimed_username_reaches_the_kernel_as_the_owner(gw):
    bob = as_user(gw, "bob")
    kid = bob.start_kernel("python3", env={"KERNEL_USERNAME": "alice"})["id"]
    try:
        with KernelWS(gw.ws_url(kid), token=TOKENS["bob"]) as ws:
            out = ws.execute_ok("import os; print(os.environ.get('KERNEL_USERNAME'))")
        assert out.strip() == "bob"
    finally:
        bob.delete_kernel(kid)


def test_per_user_limit_holds_whatever_alice_claims(gw):
    alice, bob = as_user(gw, "alice"), as_user(gw, "bob")
    first = alice.start_kernel("echo")["id"]
    for env in (None, {"KERNEL_USERNAME": "carol"}, {"KERNEL_USERNAME": "ALICE"}, {"KERNEL_USERNAME": "bob"}):
        r = alice.post("api/kernels", json={"name": "echo", **({"env": env} if env else {})})
        body = assert_json_error(r, 403)
        assert "alice" in body["message"], body
    other = bob.start_kernel("echo", env={"KERNEL_USERNAME": "bob"})["id"]  # bob has no limit of 1
    # starts through /api/sessions obey the same limit
    r = alice.post("api/sessions", json={"path": "b.ipynb", "type": "notebook", "kernel": {"name": "echo"}})
    assert_json_error(r, 403)
    for rest, kid in ((alice, first), (bob, other)):
        assert rest.delete_kernel(kid).status_code == 204


def test_kernelspecs_restrict_what_a_user_lists_and_starts(gw, users_file):
    write_atomically(users_file, users_yaml("alice", "bob", "ops", "carol"))
    carol = as_user(gw, "carol")
    wait_until(lambda: carol.get("api/kernelspecs").status_code == 200, RELOAD_TIMEOUT, 0.2, what="carol to be known")
    assert set(carol.get("api/kernelspecs").json()["kernelspecs"]) == {"python3"}
    assert_json_error(carol.get("api/kernelspecs/echo"), 404)
    assert_json_error(carol.post("api/kernels", json={"name": "echo"}), 403)
    assert_json_error(carol.post("api/sessions", json={"path": "c.ipynb", "type": "notebook", "kernel": {"name": "echo"}}), 403)
    assert {"echo", "python3"} <= set(as_user(gw, "bob").get("api/kernelspecs").json()["kernelspecs"])


def test_users_file_is_reloaded_without_restart(gw, users_file):
    alice, bob, carol = as_user(gw, "alice"), as_user(gw, "bob"), as_user(gw, "carol")
    assert carol.get("api/kernels").status_code == 401
    bobs = bob.start_kernel("echo")["id"]
    started = time.monotonic()
    write_atomically(users_file, users_yaml("alice", "ops", "carol"))
    wait_until(lambda: carol.get("api/kernels").status_code == 200, RELOAD_TIMEOUT, 0.2, what="a new user to work")
    wait_until(lambda: bob.get("api/kernels").status_code == 401, RELOAD_TIMEOUT, 0.2, what="a removed user to be refused")
    assert time.monotonic() - started < RELOAD_TIMEOUT
    assert_json_error(bob.delete_kernel(bobs), 401)
    assert alice.get("api/kernels").status_code == 200
    # a removed user's kernel stays where it is, and the admin still sees it
    assert bobs in kernel_ids(as_user(gw, "ops"))

    # malformed rewrites are refused, each logged, the last good file stays in force
    bad_files = [
        "users: [\n",  # not YAML
        users_yaml("alice") + users_yaml("alice").replace("users:\n", ""),  # duplicate name
        users_yaml("alice", "carol").replace(sha(TOKENS["carol"]), sha(TOKENS["alice"])),  # duplicate hash
        "base: &b {name: alice}\nusers: [*b]\n",  # anchors and aliases
        users_yaml("alice").replace(sha(TOKENS["alice"]), sha(TOKENS["alice"]).upper()),  # not lower-case hex
    ]
    for n, text in enumerate(bad_files, start=1):
        write_atomically(users_file, text)
        wait_until(lambda: gw.log_path.read_text(errors="replace").count("users file refused") >= n, RELOAD_TIMEOUT, 0.2,
                   what=f"bad users file {n} to be refused")
        assert carol.get("api/kernels").status_code == 200 and alice.get("api/kernels").status_code == 200
        assert bob.get("api/kernels").status_code == 401
    assert as_user(gw, "gateway").delete_kernel(bobs).status_code == 204


def test_a_bad_users_file_at_start_stops_the_gateway(tmp_path, echo_kernelspecs_dir):
    bad = tmp_path / "users.yaml"
    bad.write_text(f'users:\n  - name: "-bad name"\n    tokenSHA256: "{sha("x")}"\n')
    for args in (["--users-file", str(bad)], ["--users-file", str(tmp_path / "missing.yaml")],
                 ["--users-file", str(bad), "--allow-unauthenticated"]):
        run = subprocess.run([str(EJ_BINARY), "gateway", "--port", "0", "--kernelspecs-dir", str(echo_kernelspecs_dir), *args],
                             env=clean_env(), capture_output=True, text=True, timeout=30)
        assert run.returncode != 0, run
        assert "users-file" in run.stderr or "allow-unauthenticated" in run.stderr, run.stderr
