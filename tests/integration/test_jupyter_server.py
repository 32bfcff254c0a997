"""The main compatibility test: a real jupyter_server 2.x in gateway mode as the client.

Everything goes through jupyter_server's own REST API and WebSocket; the gateway is only consulted
directly to confirm what happened there.
"""

from __future__ import annotations

import time
import uuid

import pytest

from helpers import KernelWS, V1_PROTOCOL, parent_id, pid_alive, wait_until

PID_CODE = "import os\nprint(os.getpid())\n"


class JSClient:
    def __init__(self, js, gw):
        self.js, self.gw = js, gw
        self.sessions: list[str] = []
        self.kernels: list[str] = []
        self.sockets: list[KernelWS] = []

    def create_session(self, path="work/nb.ipynb", kernel="python3") -> dict:
        r = self.js.rest.post("api/sessions", json={"path": path, "type": "notebook", "name": path.rsplit("/", 1)[-1],
                                                    "kernel": {"name": kernel}})
        assert r.status_code == 201, r.text
        s = r.json()
        self.sessions.append(s["id"])
        self.kernels.append(s["kernel"]["id"])
        return s

    def ws(self, kernel_id, protocol="legacy", session_id=None) -> KernelWS:
        sock = KernelWS(self.js.ws_url(kernel_id), protocol, session_id=session_id, token=self.js.token)
        self.sockets.append(sock)
        return sock

    def cleanup(self):
        for s in self.sockets:
            s.close()
        for sid in self.sessions:
            try:
                self.js.rest.delete(f"api/sessions/{sid}", timeout=30)
            except Exception:  # noqa: BLE001
                pass
        for kid in self.kernels:
            try:
                self.gw.rest.delete(f"api/kernels/{kid}", timeout=30)
            except Exception:  # noqa: BLE001
                pass


@pytest.fixture
def client(jupyter_server, gw):
    c = JSClient(jupyter_server, gw)
    yield c
    c.cleanup()


def test_kernelspecs_through_jupyter_server(client):
    r = client.js.rest.get("api/kernelspecs")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["default"] == "python3"
    for name in ("python3", "python3_ipykernel6", "message_interrupt", "authz"):
        assert name in body["kernelspecs"], sorted(body["kernelspecs"])
    assert body["kernelspecs"]["python3"]["spec"]["display_name"] == "Python 3"
    logo = body["kernelspecs"]["python3"]["resources"].get("logo-64x64")
    assert logo, body["kernelspecs"]["python3"]["resources"]
    r = client.js.rest.session.get(client.js.http_url + logo, headers={"Authorization": f"token {client.js.token}"}, timeout=30)
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("protocol", ["legacy", "v1"])
def test_session_execute(client, protocol):
    s = client.create_session()
    kid = s["kernel"]["id"]
    assert client.gw.rest.kernel(kid).status_code == 200  # the kernel lives in the gateway
    ws = client.ws(kid, protocol)
    if protocol == "v1":
        # jupyter_server in gateway mode relays the legacy protocol; either answer is acceptable
        assert ws.negotiated in (None, "", V1_PROTOCOL)
    assert ws.kernel_info(timeout=60)["content"]["status"] == "ok"
    assert ws.execute_ok("print(6*7)") == "42\n"
    res = ws.execute("1/0")
    assert res.status == "error" and res.reply["ename"] == "ZeroDivisionError"
    res = ws.execute("print('you said', input('? '))", stdin=lambda req: "hi")
    assert res.stdout == "you said hi\n"

    listed = client.js.rest.get("api/kernels")
    assert listed.status_code == 200
    assert kid in [k["id"] for k in listed.json()]
    got = client.js.rest.get(f"api/sessions/{s['id']}")
    assert got.status_code == 200 and got.json()["kernel"]["id"] == kid


def test_interrupt_restart_delete_through_jupyter_server(client):
    s = client.create_session(path="work/ops.ipynb", kernel="python3_ipykernel6")
    kid = s["kernel"]["id"]
    ws = client.ws(kid, session_id=uuid.uuid4().hex)
    pid1 = int(ws.execute_ok("x = 1\n" + PID_CODE, timeout=60))

    msg_id = ws.send_execute("import time\nprint('zzz', flush=True)\ntime.sleep(60)")
    ws.wait_for(lambda m: parent_id(m) == msg_id and m["msg_type"] == "stream", 30, what="sleep to start")
    time.sleep(0.3)
    r = client.js.rest.post(f"api/kernels/{kid}/interrupt")
    assert r.status_code == 204, r.text
    res = ws.collect(msg_id, timeout=20)
    assert res.reply["ename"] == "KeyboardInterrupt"

    r = client.js.rest.post(f"api/kernels/{kid}/restart")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == kid
    ws.close()
    ws = client.ws(kid, session_id=ws.session_id)
    assert ws.kernel_info(timeout=60)["content"]["status"] == "ok"
    pid2 = int(ws.execute_ok(PID_CODE, timeout=60))
    assert pid2 != pid1
    assert ws.execute("x").reply["ename"] == "NameError"

    r = client.js.rest.delete(f"api/sessions/{s['id']}")
    assert r.status_code == 204, r.text
    wait_until(lambda: client.gw.rest.kernel(kid).status_code == 404, 30, what="kernel gone from the gateway")
    wait_until(lambda: not pid_alive(pid2), 30, what="kernel process gone")


def test_kernel_api_through_jupyter_server(client):
    r = client.js.rest.post("api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    client.kernels.append(kid)
    assert client.js.rest.get(f"api/kernels/{kid}").json()["id"] == kid
    ws = client.ws(kid)
    assert ws.execute_ok("print('direct')", timeout=60) == "direct\n"
    r = client.js.rest.delete(f"api/kernels/{kid}")
    assert r.status_code == 204, r.text
    wait_until(lambda: client.gw.rest.kernel(kid).status_code == 404, 30, what="kernel gone from the gateway")


def open_double_connection(client, protocol):
    s = client.create_session(path=f"work/double-{protocol}-{uuid.uuid4().hex[:6]}.ipynb")
    kid = s["kernel"]["id"]
    session = uuid.uuid4().hex
    first = client.ws(kid, protocol, session_id=session)
    assert first.kernel_info(timeout=60)["content"]["status"] == "ok"
    second = client.ws(kid, protocol, session_id=session)  # #1 is abandoned, not closed
    return first, second


@pytest.mark.parametrize("protocol", ["legacy", "v1"])
def test_double_connection_same_session(client, protocol):
    """JupyterLab reconnecting while its old socket is still open: the new socket answers at once."""
    _, second = open_double_connection(client, protocol)
    assert second.execute_ok("print('second socket')", timeout=5) == "second socket\n"


@pytest.mark.ej_only  # EG: the two gateway connections evict each other every 1-2 s (~60 s of failures)
@pytest.mark.parametrize("protocol", ["legacy", "v1"])
def test_double_connection_same_session_stays_usable(client, protocol):
    """jupyter_server holds two gateway connections with one session id here, and re-dials a gateway
    connection that is closed under it (after 1-2 s, retry counter reset on every success). The new socket
    must keep answering: every execute over the next seconds gets its reply within 5 s."""
    _, second = open_double_connection(client, protocol)
    deadline = time.monotonic() + 8
    n = 0
    while time.monotonic() < deadline:
        n += 1
        assert second.execute_ok(f"print({n})", timeout=5) == f"{n}\n", f"execute #{n}"
        time.sleep(0.5)
