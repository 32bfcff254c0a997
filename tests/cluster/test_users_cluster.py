"""Issue 17, acceptance: one gateway, many users, on a FakeCluster.

The cluster is test_end_to_end's (controller process, FakeCluster with CRDs, the gateway and notebooks run by their
Deployments as real processes, ipykernel kernel pods). One JupyterGateway (``maxKernelsPerUser: 1``, allowing the
namespace ``team-c``) serves three JupyterNotebooks with storage: alice and bob in the gateway's namespace, carol in
``team-c``. Each notebook pod's jupyter_server reaches the gateway with its own token (``<nb>-gateway-token``, from
the controller); the tests also talk to the gateway directly with those tokens and with the gateway's own token
(``<gateway>-auth``, the admin token).

What is checked: a user sees and reaches only their own kernels (another user's kernel id is 404 on every kernel
and session route and on the channels WebSocket), a claimed ``KERNEL_USERNAME`` does not change who owns a kernel,
the per-user limit, kernels of two users running at once, a kernel working in its user's files (the notebook's
claim mounted, the notebook's directory its working directory) and nobody else's, a notebook of another namespace
getting its kernels in its own namespace, and deleting a notebook revoking its token and removing its user's kernels.

The cluster is built once for the module; the tests run in file order and share its kernels (alice's and bob's),
the last one deletes bob's notebook.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid

import pytest
import requests
import websocket

from fakekube.client import KubeClientError
from fakekube.testing import wait_until
from rollkit import Channels, JupyterServer, cluster_world, not_yet
from test_end_to_end import GROUP_PATH, GW, NS, tail

OTHER_NS = "team-c"
NOTEBOOKS = {"alice": NS, "bob": NS, "carol": OTHER_NS}  # notebook (and user) name -> its namespace
MOUNT = "/home/jovyan/work"  # where the notebook pod mounts its claim (jupyter_server's root is /home/jovyan)
KERNEL_PODS = "app.kubernetes.io/component=kernel"
ALICE_TEXT = "alice's numbers: 3 1 4 1 5\n"
BOB_TEXT = "bob's numbers: 2 7 1 8\n"
CAROL_TEXT = "carol's numbers: 1 6 1 8\n"


def user_hash(user: str) -> str:
    return hashlib.sha256(user.encode()).hexdigest()[:40]


def group_path(namespace: str) -> str:
    return GROUP_PATH.replace("/namespaces/default", f"/namespaces/{namespace}")


def notebook_json() -> dict:
    return {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


class Gateway:
    """The gateway's REST API and channels WebSocket, with one token, by the gateway Service's cluster IP."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base.rstrip("/"), token

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> requests.Response:
        # a connection per request, closed by the client: the gateway closes a connection after a request sent
        # with "Connection: close" without saying so in the response, and a pooled connection could be reused
        with requests.Session() as http:
            return http.request(method, f"{self.base}/{path}", json=body, timeout=timeout,
                                headers={"Authorization": f"token {self.token}"})

    def kernel_ids(self) -> list[str]:
        r = self.request("GET", "api/kernels", timeout=10)
        assert r.status_code == 200, (r.status_code, r.text)
        return [k["id"] for k in r.json()]

    def channels_url(self, kernel_id: str, session_id: str) -> str:
        return self.base.replace("http://", "ws://", 1) + f"/api/kernels/{kernel_id}/channels?session_id={session_id}"

    def channels(self, kernel_id: str) -> Channels:
        return Channels(self.channels_url(kernel_id, uuid.uuid4().hex), self.token, uuid.uuid4().hex)

    def websocket_status(self, kernel_id: str) -> int:
        """The channels handshake's answer: 101 when the WebSocket opened (it is closed again), else the status."""
        try:
            ws = websocket.create_connection(self.channels_url(kernel_id, uuid.uuid4().hex),
                                             header=[f"Authorization: token {self.token}"], timeout=15)
        except websocket.WebSocketBadStatusException as e:
            return e.status_code
        ws.close()
        return 101


class Users:
    """The module's cluster: API client, notebook servers, gateway clients per token, kernel pods by user."""

    def __init__(self, world: dict):
        self.w = world
        self.cluster = world["cluster"]
        self.api = self.cluster.client
        self.servers: dict[str, JupyterServer] = {}
        self.gateway: dict[str, Gateway] = {}  # user name (or "admin") -> the gateway with that user's token
        self.kernel_name = ""
        self.timings: dict[str, float] = {}

    def details(self) -> str:
        out = [f"controller log:\n{tail(self.w['controller_log'])}"]
        for p in self.cluster.pods():
            kl = self.cluster.kubelet_of(p["namespace"], p["name"])
            text = (kl.read_log(p["namespace"], p["name"]) if kl else None) or ""
            out.append(f"pod {p['namespace']}/{p['name']} on {p['node']} {p['phase']}:\n{text[-2500:]}")
        return "\n".join(out)

    def wait(self, pred, what: str, timeout: float):
        try:
            return wait_until(not_yet(pred), timeout=timeout, interval=0.2, message=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.details()}") from None

    def gone(self, path: str) -> bool:
        try:
            self.api.get(path)
        except KubeClientError as e:
            if e.status == 404:
                return True
            raise
        return False

    def secret(self, namespace: str, name: str, key: str) -> str:
        return base64.b64decode(self.api.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")["data"][key]).decode()

    def kernel_pods(self, user: str, namespace: str = NS) -> list[dict]:
        return [p for p in self.api.get(f"/api/v1/namespaces/{namespace}/pods",
                                        labelSelector=f"{KERNEL_PODS},elastic-jupyter.io/user-hash={user_hash(user)}")
                ["items"] if not p["metadata"].get("deletionTimestamp")]

    def kernel_pod(self, kernel_id: str, namespace: str = NS) -> dict | None:
        pods = self.api.get(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"kernel_id={kernel_id}")["items"]
        return pods[0] if pods else None

    def claim_of(self, pod: dict) -> set[str]:
        return {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes") or []
                if v.get("persistentVolumeClaim")}


def put_file(js: JupyterServer, path: str, text: str) -> None:
    r = js.http.put(f"{js.base}/api/contents/{path}", json={"type": "file", "format": "text", "content": text},
                    timeout=30)
    assert r.status_code in (200, 201), (r.status_code, r.text)


def put_notebook(js: JupyterServer, path: str) -> None:
    r = js.http.put(f"{js.base}/api/contents/{path}", json={"type": "notebook", "content": notebook_json()},
                    timeout=30)
    assert r.status_code in (200, 201), (r.status_code, r.text)


def start_session(js: JupyterServer, path: str, kernel_name: str) -> dict:
    r = js.post("api/sessions", {"path": path, "type": "notebook", "name": path.rsplit("/", 1)[-1],
                                 "kernel": {"name": kernel_name}}, timeout=90)
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()


READ_CODE = ("import os\n"
             "try:\n"
             "    print('READ ' + repr(open({path!r}).read()))\n"
             "except Exception as e:\n"
             "    print('FAILED ' + repr(e))\n"
             "print('CWD ' + os.getcwd())\n")


def read_file(ch: Channels, path: str) -> tuple[str, str]:
    """What the kernel reads at ``path`` (``READ <repr>`` or ``FAILED <error>``) and its working directory."""
    out = ch.output_of(ch.execute(READ_CODE.format(path=path)), 60)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    got = f"READ {lines['READ']}" if "READ" in lines else f"FAILED {lines.get('FAILED')}"
    return got, lines.get("CWD", "")


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("users-cluster")
    t0 = time.monotonic()
    with cluster_world(tmp_path_factory, tmp) as w:
        u = Users(w)
        api = u.api
        api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OTHER_NS}})
        api.post(f"{GROUP_PATH}/jupytergateways", {
            "apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": "JupyterGateway", "metadata": {"name": GW},
            "spec": {"maxKernelsPerUser": 1, "kernelLaunchTimeout": 45,
                     "allowedNamespaces": {"names": [OTHER_NS]}}})
        for name, namespace in NOTEBOOKS.items():
            gateway = {"name": GW} if namespace == NS else {"name": GW, "namespace": NS}
            api.post(f"{group_path(namespace)}/jupyternotebooks", {
                "apiVersion": "kubeflow.tkestack.io/v1alpha1", "kind": "JupyterNotebook", "metadata": {"name": name},
                "spec": {"gateway": gateway, "user": name, "storage": {"size": "1Gi"}}})

        def available(namespace: str, name: str):
            st = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}").get("status") or {}
            return st.get("availableReplicas") == 1 and st.get("updatedReplicas") == 1 and st

        u.wait(lambda: available(NS, GW), "the gateway Deployment available", 90)
        for name, namespace in NOTEBOOKS.items():
            u.wait(lambda: available(namespace, name), f"{namespace}/{name}'s notebook Deployment available", 90)
            u.servers[name] = JupyterServer(f"http://{u.cluster.service_ip(namespace, name)}:8888",
                                            u.secret(namespace, f"{name}-jupyter", "token"))
        gateway_url = f"http://{u.cluster.service_ip(NS, GW)}:8888"
        u.gateway["admin"] = Gateway(gateway_url, u.secret(NS, f"{GW}-auth", "token"))
        for name, namespace in NOTEBOOKS.items():
            u.gateway[name] = Gateway(gateway_url, u.secret(namespace, f"{name}-gateway-token", "token"))
        # every user's token is known to the gateway (it watches the users Secret the controller writes)
        for name in NOTEBOOKS:
            u.wait(lambda: u.gateway[name].request("GET", "api/kernels", timeout=10).status_code == 200,
                   f"{name}'s token accepted by the gateway", 30)
        specs = u.wait(lambda: (r := u.servers["alice"].get("api/kernelspecs")).status_code == 200 and r.json(),
                       "jupyter_server's kernelspecs (from the gateway)", 60)
        u.kernel_name = next((n for n in specs["kernelspecs"] if "kubernetes" in n), specs["default"])
        u.timings["cluster_ready_s"] = round(time.monotonic() - t0, 1)
        try:
            yield u
        finally:
            print(f"\nusers cluster timings: {json.dumps(u.timings)}")
            (tmp / "logs").mkdir()
            for p in u.cluster.pods():  # the pods still running: their logs go with their directories
                kl = u.cluster.kubelet_of(p["namespace"], p["name"])
                text = kl.read_log(p["namespace"], p["name"]) if kl else None
                (tmp / "logs" / f"{p['namespace']}.{p['name']}.log").write_text(text or "")


@pytest.fixture(scope="module")
def kernels(users):
    """alice's kernel (a session of her notebook ``work/nb.ipynb``, started through her notebook server), bob's
    kernel (``POST /api/kernels`` on his notebook server), a kernel bob's token starts on the gateway claiming
    ``KERNEL_USERNAME=alice`` (recorded, then shut down: bob's limit is 1), and a channels WebSocket on each user's
    kernel through their notebook server."""
    u = users
    t0 = time.monotonic()
    alice, bob = u.servers["alice"], u.servers["bob"]
    put_file(alice, "work/data.txt", ALICE_TEXT)
    put_notebook(alice, "work/nb.ipynb")
    put_file(bob, "work/data.txt", BOB_TEXT)
    session = start_session(alice, "work/nb.ipynb", u.kernel_name)
    alice_kernel = session["kernel"]["id"]

    # bob claims to be alice; alice already has her one kernel, so a start counted as hers would be refused
    r = u.gateway["bob"].request("POST", "api/kernels", {"name": u.kernel_name, "env": {"KERNEL_USERNAME": "alice"}})
    claimed = {"status": r.status_code, "body": r.text}
    if r.status_code == 201:
        kid = r.json()["id"]
        pod = u.kernel_pod(kid)
        claimed.update(id=kid, pod_labels=pod and pod["metadata"].get("labels"),
                       pod_annotations=pod and pod["metadata"].get("annotations"),
                       bob_lists=kid in u.gateway["bob"].kernel_ids(), alice_lists=kid in u.gateway["alice"].kernel_ids())
        claimed["shutdown"] = u.gateway["bob"].request("DELETE", f"api/kernels/{kid}").status_code
        u.wait(lambda: u.kernel_pod(kid) is None, "the claimed kernel's pod gone after its shutdown", 30)

    r = bob.post("api/kernels", {"name": u.kernel_name}, timeout=90)
    assert r.status_code == 201, (r.status_code, r.text)
    bob_kernel = r.json()["id"]
    channels = {"alice": alice.channels(alice_kernel, uuid.uuid4().hex),
                "bob": bob.channels(bob_kernel, uuid.uuid4().hex)}
    try:
        for ch in channels.values():
            ch.output_of(ch.execute("print('ready')"), 60)
        u.timings["kernels_started_s"] = round(time.monotonic() - t0, 1)
        yield {"alice": alice_kernel, "bob": bob_kernel, "session": session, "claimed": claimed,
               "channels": channels}
    finally:
        for ch in channels.values():
            ch.close()


def test_each_notebook_server_and_token_lists_only_its_own_kernel(users, kernels):
    u = users
    assert [k["id"] for k in u.servers["alice"].get("api/kernels").json()] == [kernels["alice"]]
    assert [k["id"] for k in u.servers["bob"].get("api/kernels").json()] == [kernels["bob"]]
    # the gateway itself, by token (jupyter_server also filters its list to the kernels it started)
    assert u.gateway["alice"].kernel_ids() == [kernels["alice"]]
    assert u.gateway["bob"].kernel_ids() == [kernels["bob"]]
    assert u.gateway["carol"].kernel_ids() == []
    # the kernel pods carry their owner
    for user in ("alice", "bob"):
        pod = u.kernel_pod(kernels[user])
        assert pod is not None, f"{user}'s kernel pod"
        assert pod["metadata"]["labels"]["elastic-jupyter.io/user-hash"] == user_hash(user)
        assert pod["metadata"]["annotations"]["elastic-jupyter.io/user"] == user


def test_another_users_kernel_is_not_found(users, kernels):
    """bob's token on alice's kernel: 404 on every kernel route, the channels WebSocket and the session routes,
    exactly as for a kernel that does not exist. bob's own kernel answers each (the control)."""
    u = users
    bob, alice_gw = u.gateway["bob"], u.gateway["alice"]
    alice_kernel, bob_kernel = kernels["alice"], kernels["bob"]
    # a gateway session of alice's on her kernel (jupyter_server keeps its own sessions, so alice makes one here)
    r = alice_gw.request("POST", "api/sessions", {"path": "work/nb.ipynb", "type": "notebook", "name": "nb.ipynb",
                                                   "kernel": {"id": alice_kernel}})
    assert r.status_code == 201, (r.status_code, r.text)
    alice_session = r.json()["id"]
    assert r.json()["kernel"]["id"] == alice_kernel

    assert bob.request("GET", f"api/kernels/{bob_kernel}").status_code == 200
    assert bob.websocket_status(bob_kernel) == 101
    seen = {
        "GET": bob.request("GET", f"api/kernels/{alice_kernel}").status_code,
        "DELETE": bob.request("DELETE", f"api/kernels/{alice_kernel}").status_code,
        "interrupt": bob.request("POST", f"api/kernels/{alice_kernel}/interrupt", {}).status_code,
        "restart": bob.request("POST", f"api/kernels/{alice_kernel}/restart", {}).status_code,
        "channels": bob.websocket_status(alice_kernel),
        "GET session": bob.request("GET", f"api/sessions/{alice_session}").status_code,
        "PATCH session": bob.request("PATCH", f"api/sessions/{alice_session}", {"path": "stolen.ipynb"}).status_code,
        "DELETE session": bob.request("DELETE", f"api/sessions/{alice_session}").status_code,
        "session on her kernel": bob.request("POST", "api/sessions", {
            "path": "mine.ipynb", "type": "notebook", "kernel": {"id": alice_kernel}}).status_code,
    }
    assert seen == {k: 404 for k in seen}, seen
    missing = str(uuid.uuid4())
    assert bob.request("GET", f"api/kernels/{missing}").status_code == 404, "the same answer as for no kernel"
    r = bob.request("GET", "api/sessions")
    assert r.status_code == 200 and alice_session not in [s["id"] for s in r.json()], r.text
    assert alice_kernel not in [s["kernel"]["id"] for s in r.json()]

    # alice's kernel and session are untouched: same kernel, listed, not restarted (its state kept), answering
    r = alice_gw.request("GET", f"api/sessions/{alice_session}")
    assert r.status_code == 200 and r.json()["path"] == "work/nb.ipynb", r.text
    assert alice_gw.request("GET", f"api/kernels/{alice_kernel}").status_code == 200
    ch = kernels["channels"]["alice"]
    ch.output_of(ch.execute("marker = 'kept'"), 30)
    assert ch.output_of(ch.execute("print(marker)"), 30).strip() == "kept"
    assert u.kernel_pod(alice_kernel) is not None


def test_a_claimed_kernel_username_does_not_change_the_owner(users, kernels):
    """bob's token starting a kernel with env KERNEL_USERNAME=alice gets a kernel of bob's (not counted against
    alice's limit of 1, listed for bob and not for alice, its pod labelled for bob)."""
    c = kernels["claimed"]
    assert c["status"] == 201, c
    assert c["pod_annotations"]["elastic-jupyter.io/user"] == "bob", c
    assert c["pod_labels"]["elastic-jupyter.io/user-hash"] == user_hash("bob"), c
    assert c["bob_lists"] and not c["alice_lists"], c
    assert c["shutdown"] == 204, c


def test_two_users_kernels_run_code_at_the_same_time(users, kernels):
    """Both kernels sleep 2 s in one cell sent at once; each reports when it ran: the two runs overlap."""
    code = "import time\nt0 = time.time()\ntime.sleep(2)\nprint(f'RAN {t0} {time.time()}')"
    chs = kernels["channels"]
    sent = {user: chs[user].execute(code) for user in ("alice", "bob")}
    runs = {}
    for user, msg_id in sent.items():
        out = chs[user].output_of(msg_id, 60)
        start, end = (float(x) for x in out.split("RAN ", 1)[1].split()[:2])
        runs[user] = (start, end)
    assert max(s for s, _ in runs.values()) < min(e for _, e in runs.values()), f"the runs overlap: {runs}"


def test_the_admin_token_sees_every_users_kernels(users, kernels):
    admin = users.gateway["admin"]
    assert {kernels["alice"], kernels["bob"]} <= set(admin.kernel_ids())
    for user in ("alice", "bob"):
        assert admin.request("GET", f"api/kernels/{kernels[user]}").status_code == 200


def test_a_users_kernels_are_limited_whatever_username_they_claim(users, kernels):
    """maxKernelsPerUser 1: alice's second start is refused, also when it claims another KERNEL_USERNAME."""
    u = users
    before = [p["metadata"]["name"] for p in u.kernel_pods("alice")]
    assert len(before) == 1, before
    for env in ({"KERNEL_USERNAME": "someone-else"}, {}):
        r = u.gateway["alice"].request("POST", "api/kernels", {"name": u.kernel_name, "env": env})
        assert r.status_code == 403, (env, r.status_code, r.text)
        assert "alice" in r.text, r.text
    assert [p["metadata"]["name"] for p in u.kernel_pods("alice")] == before
    assert u.kernel_pods("someone-else") == []
    assert u.gateway["alice"].kernel_ids() == [kernels["alice"]]


def test_a_kernel_works_in_its_users_files_and_no_one_elses(users, kernels):
    """alice's kernel (a session of ``work/nb.ipynb``) starts in her notebook's directory on her claim: the relative
    ``data.txt`` she wrote through her notebook server is there. bob's kernel pod mounts his own claim, not hers,
    and at the same path reads his own file."""
    u = users
    chs = kernels["channels"]
    got, cwd = read_file(chs["alice"], "data.txt")
    assert (got, cwd) == (f"READ {ALICE_TEXT!r}", MOUNT), (got, cwd)
    alice_pod = u.kernel_pod(kernels["alice"])
    assert u.claim_of(alice_pod) == {"alice-work"}, alice_pod["spec"].get("volumes")
    volume = next(v["name"] for v in alice_pod["spec"]["volumes"] if v.get("persistentVolumeClaim"))
    mounts = [m for c in alice_pod["spec"]["containers"] for m in c.get("volumeMounts") or [] if m["name"] == volume]
    assert [m["mountPath"] for m in mounts] == [MOUNT], mounts
    # the claims are ReadWriteOnce: each user's kernel pod is pinned beside their notebook server's pod
    for user in ("alice", "bob"):
        pod = u.kernel_pod(kernels[user])
        assert (pod["spec"].get("affinity") or {}).get("podAffinity"), (user, pod["spec"].get("affinity"))
        notebook = u.api.get(f"/api/v1/namespaces/{NS}/pods",
                             labelSelector=f"app.kubernetes.io/component=notebook,app.kubernetes.io/instance={user}")
        assert [p["spec"]["nodeName"] for p in notebook["items"]] == [pod["spec"]["nodeName"]], user
    # a file the kernel writes is on alice's claim: her notebook server reads it back
    chs["alice"].output_of(chs["alice"].execute("open('from-kernel.txt', 'w').write('written by the kernel')"), 30)
    r = u.servers["alice"].get("api/contents/work/from-kernel.txt?content=1&type=file&format=text")
    assert r.status_code == 200 and r.json()["content"] == "written by the kernel", r.text

    bob_pod = u.kernel_pod(kernels["bob"])
    assert "alice-work" not in u.claim_of(bob_pod), bob_pod["spec"].get("volumes")
    got, _ = read_file(chs["bob"], f"{MOUNT}/data.txt")
    assert got == f"READ {BOB_TEXT!r}", f"bob's kernel reads his own data.txt at {MOUNT}: {got}"
    assert u.claim_of(bob_pod) == {"bob-work"}, bob_pod["spec"].get("volumes")
    got, _ = read_file(chs["bob"], f"{MOUNT}/from-kernel.txt")
    assert got.startswith("FAILED FileNotFoundError"), got


def test_a_notebook_of_another_namespace_gets_its_kernels_there(users, kernels):
    """carol's notebook (namespace team-c, allowed by the gateway): her kernel pod runs in team-c, mounts her claim
    and reads her file."""
    u = users
    carol = u.servers["carol"]
    put_file(carol, "work/data.txt", CAROL_TEXT)
    put_notebook(carol, "work/c.ipynb")
    session = start_session(carol, "work/c.ipynb", u.kernel_name)
    kid = session["kernel"]["id"]
    ch = carol.channels(kid, uuid.uuid4().hex)
    try:
        pod = u.kernel_pod(kid, OTHER_NS)
        assert pod is not None, f"carol's kernel pod in {OTHER_NS}; in {NS}: {u.kernel_pod(kid) is not None}"
        assert pod["metadata"]["labels"]["elastic-jupyter.io/user-hash"] == user_hash("carol")
        assert u.claim_of(pod) == {"carol-work"}, pod["spec"].get("volumes")
        got, cwd = read_file(ch, "data.txt")
        assert (got, cwd) == (f"READ {CAROL_TEXT!r}", MOUNT), (got, cwd)
        assert u.gateway["carol"].kernel_ids() == [kid]
        assert kid not in u.gateway["alice"].kernel_ids()
    finally:
        ch.close()
        r = carol.delete(f"api/sessions/{session['id']}")
        assert r.status_code == 204, r.text
    u.wait(lambda: u.kernel_pod(kid, OTHER_NS) is None and u.kernel_pod(kid) is None,
           "carol's kernel pod gone after her session's deletion", 30)


def test_deleting_a_notebook_revokes_its_token_and_removes_its_kernels(users, kernels):
    """Deleting bob's notebook: his token is refused within seconds, his kernel pods are deleted, alice's kernel runs
    on."""
    u = users
    bob = u.gateway["bob"]
    assert bob.request("GET", "api/kernels").status_code == 200
    assert u.kernel_pods("bob"), "bob has a kernel pod"
    t0 = time.monotonic()
    u.api.delete(f"{GROUP_PATH}/jupyternotebooks/bob")
    u.wait(lambda: bob.request("GET", "api/kernels", timeout=10).status_code == 401, "bob's token refused", 15)
    u.timings["token_refused_after_delete_s"] = round(time.monotonic() - t0, 1)
    assert bob.request("POST", "api/kernels", {"name": u.kernel_name}).status_code == 401
    assert bob.websocket_status(kernels["bob"]) == 401
    u.wait(lambda: not u.kernel_pods("bob") and u.kernel_pod(kernels["bob"]) is None, "bob's kernel pods deleted", 30)
    u.timings["kernels_gone_after_delete_s"] = round(time.monotonic() - t0, 1)
    u.wait(lambda: u.gone(f"{GROUP_PATH}/jupyternotebooks/bob"), "bob's notebook released", 30)
    assert kernels["bob"] not in u.gateway["admin"].kernel_ids()

    # alice is untouched: her token, her kernel pod, her kernel answering on the same WebSocket
    assert u.gateway["alice"].kernel_ids() == [kernels["alice"]]
    assert [p["metadata"]["name"] for p in u.kernel_pods("alice")] == [u.kernel_pod(kernels["alice"])["metadata"]["name"]]
    ch = kernels["channels"]["alice"]
    assert ch.output_of(ch.execute("print(6 * 7)"), 30).strip() == "42"
    assert ch.closed is None, ch.closed
