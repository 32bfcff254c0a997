"""The channels WebSocket, both encodings, against ipykernel 7 and 6 (PROTOCOL.md §2)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest

from helpers import V1_PROTOCOL, parent_id, pid_alive, wait_until

PID_CODE = "import os\nprint(os.getpid())\n"


def exec_pid(ws, code=PID_CODE, timeout=30) -> int:
    res = ws.execute(code, timeout)
    assert res.status == "ok", res.errors
    assert res.stdout.strip().isdigit(), f"no pid on stdout; got {[(m['channel'], m['msg_type']) for m in res.messages]}"
    return int(res.stdout.strip().splitlines()[-1])


def is_status(state):
    return lambda m: m["channel"] == "iopub" and m["msg_type"] == "status" and m["content"].get("execution_state") == state


# --------------------------------------------------------------------------------------------
# handshake
# --------------------------------------------------------------------------------------------


def test_legacy_handshake_has_no_subprotocol(gw, kernels):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], "legacy")
    assert ws.negotiated in (None, "")
    assert "sec-websocket-protocol" not in ws.response_headers
    assert ws.kernel_info()["content"]["status"] == "ok"


def test_v1_handshake_echoes_subprotocol(gw, kernels):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], "v1")
    assert ws.negotiated == V1_PROTOCOL
    assert ws.response_headers.get("sec-websocket-protocol") == V1_PROTOCOL
    reply = ws.kernel_info()
    assert reply["content"]["status"] == "ok"
    assert ws.opcodes and all(op == 2 for op in ws.opcodes)  # every v1 frame is binary


# --------------------------------------------------------------------------------------------
# the basic message matrix: {legacy, v1} x {ipykernel 7, ipykernel 6}
# --------------------------------------------------------------------------------------------


def test_kernel_info(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    reply = ws.kernel_info()
    assert reply["channel"] == "shell"
    c = reply["content"]
    assert c["status"] == "ok"
    assert c["language_info"]["name"] == "python"
    assert c["protocol_version"].startswith("5.")
    assert c["implementation"] == "ipython"
    assert reply["parent_header"]["session"] == ws.session_id


def test_execute_stdout(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    res = ws.execute("print('hello from', 6*7)\n6*7")
    assert res.status == "ok", res.errors
    assert res.stdout == "hello from 42\n"
    results = res.of_type("execute_result")
    assert results and results[0]["content"]["data"]["text/plain"] == "42"
    assert res.of_type("execute_input")[0]["content"]["code"].startswith("print(")
    assert isinstance(res.reply["execution_count"], int)
    stream = res.of_type("stream")[0]
    assert stream["channel"] == "iopub"
    assert stream["header"]["msg_type"] == "stream"


def test_comm_binary_buffers(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    res = ws.execute(
        "import warnings\nwarnings.simplefilter('ignore')\n"
        "from ipykernel.comm import Comm\n"
        "c = Comm(target_name='t', data={})\n"
        "c.send(data={'a': 1}, buffers=[b'\\x00\\x01binary'])\n")
    assert res.status == "ok", res.errors
    msgs = [m for m in res.messages if m["msg_type"] == "comm_msg"]
    assert len(msgs) == 1, [m["msg_type"] for m in res.messages]
    m = msgs[0]
    assert m["channel"] == "iopub"
    assert m["content"]["data"] == {"a": 1}
    assert [bytes(b) for b in m["buffers"]] == [b"\x00\x01binary"]
    assert m["_frame"] == "binary"  # the legacy protocol must switch to a binary frame for buffers


def test_comm_buffers_from_client(gw, kernels, protocol):
    """A client-sent comm_msg with a binary buffer reaches the kernel intact."""
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    ws.execute_ok(
        "import warnings\nwarnings.simplefilter('ignore')\n"
        "got = []\n"
        "def _target(comm, open_msg):\n"
        "    comm.on_msg(lambda msg: got.append(bytes(msg['buffers'][0])))\n"
        "get_ipython().kernel.comm_manager.register_target('echo', _target)\n")
    comm_id = uuid.uuid4().hex
    ws.send_msg("shell", "comm_open", {"comm_id": comm_id, "target_name": "echo", "data": {}})
    ws.send_msg("shell", "comm_msg", {"comm_id": comm_id, "data": {"x": 1}}, buffers=[b"\x00\xffclient-bytes"])
    out = ""
    for _ in range(50):
        out = ws.execute_ok("print(got)").strip()
        if out != "[]":
            break
        time.sleep(0.1)
    assert out == repr([b"\x00\xffclient-bytes"])


def test_execute_error(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    res = ws.execute("1/0")
    assert res.status == "error"
    assert res.reply["ename"] == "ZeroDivisionError"
    assert res.errors and res.errors[0]["ename"] == "ZeroDivisionError"
    assert any("ZeroDivisionError" in line for line in res.errors[0]["traceback"])
    # the kernel is still usable
    assert ws.execute_ok("print('after')") == "after\n"


def test_stdin_input(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    prompts = []

    def answer(req):
        assert req["channel"] == "stdin"
        prompts.append(req["content"]["prompt"])
        return "typed by the client"

    res = ws.execute("x = input('your name> ')\nprint('got', x)", stdin=answer)
    assert res.status == "ok", res.errors
    assert prompts == ["your name> "]
    assert res.stdout == "got typed by the client\n"


@pytest.mark.parametrize("spec", ["python3", "python3_ipykernel6", "message_interrupt"])
def test_interrupt(gw, kernels, protocol, spec):
    model = kernels.start(gw, spec)
    ws = kernels.ws(gw, model["id"], protocol)
    ws.execute_ok("x = 123")
    msg_id = ws.send_execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)\nprint('not interrupted')")
    ws.wait_for(lambda m: parent_id(m) == msg_id and m["msg_type"] == "stream", 30, what="sleep to start")
    time.sleep(0.3)
    r = gw.rest.post(f"api/kernels/{model['id']}/interrupt")
    assert r.status_code == 204, r.text
    res = ws.collect(msg_id, timeout=20)
    assert res.status == "error"
    assert res.reply["ename"] == "KeyboardInterrupt"
    assert "not interrupted" not in res.stdout
    assert ws.execute_ok("print(x + 1)") == "124\n"  # state survives an interrupt


def test_restart_keeps_id_new_process(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    pid1 = exec_pid(ws, "x = 123\n" + PID_CODE)
    r = gw.rest.post(f"api/kernels/{model['id']}/restart")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == model["id"]
    assert r.json()["name"] == kernel_name
    # like JupyterLab: reconnect with the same session id after a restart
    ws.close()
    ws = kernels.ws(gw, model["id"], protocol, session_id=ws.session_id)
    assert ws.kernel_info(timeout=60)["content"]["status"] == "ok"
    pid2 = exec_pid(ws)
    assert pid2 != pid1
    wait_until(lambda: not pid_alive(pid1), 30, what="old kernel process to exit")
    res = ws.execute("print(x)")
    assert res.status == "error" and res.reply["ename"] == "NameError"
    assert gw.rest.kernel(model["id"]).json()["id"] == model["id"]


@pytest.mark.ej_only  # EG forwards such a request to whichever kernel process is there
def test_execute_sent_during_a_restart_runs_in_the_new_process_with_all_its_output(gw, kernels, protocol):
    """A cell run while the kernel restarts (a user pressing Shift-Enter right after "Restart"): the gateway holds
    it until the new process is ready, so it runs there and none of its output is lost."""
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    pid1 = exec_pid(ws)
    answers = []
    restart = threading.Thread(target=lambda: answers.append(gw.rest.post(f"api/kernels/{model['id']}/restart",
                                                                          timeout=60).status_code))
    restart.start()
    try:
        time.sleep(0.05)  # the restart is under way (its shutdown_request takes longer than this)
        res = ws.execute(PID_CODE + "print('after restart')", timeout=60)
    finally:
        restart.join(60)
    assert answers == [200]
    assert res.status == "ok", res.errors
    lines = res.stdout.split()
    assert lines[-1] == "restart" and int(lines[0]) != pid1, res.stdout


def test_restart_existing_socket_keeps_working(gw, kernels, protocol):
    """A client that does not reconnect after a REST restart still reaches the new kernel process."""
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    pid1 = exec_pid(ws)
    assert gw.rest.post(f"api/kernels/{model['id']}/restart").status_code == 200

    def new_pid():
        res = ws.execute(PID_CODE, timeout=5)
        return res.status == "ok" and int(res.stdout) != pid1

    wait_until(new_pid, 60, interval=0.5, what="the restarted kernel to answer on the existing socket")


def test_shutdown_process_and_connection_file(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    out = ws.execute_ok("import os, ipykernel\nprint(os.getpid())\nprint(ipykernel.get_connection_file())")
    pid_s, conn_file = out.split("\n", 1)
    pid, conn_file = int(pid_s), conn_file.strip()
    assert os.path.exists(conn_file), conn_file
    r = gw.rest.delete_kernel(model["id"])
    assert r.status_code == 204
    wait_until(lambda: not pid_alive(pid), 15, what=f"kernel process {pid} to be gone (and reaped)")
    assert not os.path.exists(conn_file), f"connection file left behind: {conn_file}"
    assert gw.rest.kernel(model["id"]).status_code == 404


@pytest.mark.ej_only  # EG leaves the client socket open after DELETE
def test_shutdown_closes_websocket_with_reason(gw, kernels, protocol):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    ws.kernel_info()
    assert gw.rest.delete_kernel(model["id"]).status_code == 204
    closed = ws.wait_closed(15)
    assert closed.code is not None and closed.reason, closed


def test_kill_kernel_auto_restart(gw, kernels, protocol, kernel_name):
    model = kernels.start(gw, kernel_name)
    ws = kernels.ws(gw, model["id"], protocol)
    pid1 = exec_pid(ws)
    os.kill(pid1, signal.SIGKILL)
    ws.wait_for(is_status("restarting"), 30, what="iopub status 'restarting'")

    def answers_with_new_pid():
        res = ws.execute(PID_CODE, timeout=5)
        return res.status == "ok" and int(res.stdout) != pid1

    wait_until(answers_with_new_pid, 60, interval=0.5, what="the auto-restarted kernel to answer")
    assert gw.rest.kernel(model["id"]).json()["execution_state"] != "dead"


@pytest.mark.ej_only  # with autorestart off EG never notices that the kernel died
def test_kill_kernel_no_auto_restart(gw_alt, kernels, protocol):
    model = kernels.start(gw_alt, "python3")
    ws = kernels.ws(gw_alt, model["id"], protocol)
    pid = exec_pid(ws)
    os.kill(pid, signal.SIGKILL)
    ws.wait_for(is_status("dead"), 30, what="iopub status 'dead'")
    wait_until(lambda: gw_alt.rest.kernel(model["id"]).json()["execution_state"] == "dead", 30,
               what="REST execution_state 'dead'")
    assert not pid_alive(pid)
    # the dead kernel can still be deleted
    assert gw_alt.rest.delete_kernel(model["id"]).status_code == 204


# --------------------------------------------------------------------------------------------
# several clients, session ids, offline buffering
# --------------------------------------------------------------------------------------------


def test_two_clients_iopub_to_both_reply_to_one(gw, kernels, protocol):
    model = kernels.start(gw)
    a = kernels.ws(gw, model["id"], protocol)
    b = kernels.ws(gw, model["id"], "v1" if protocol == "legacy" else "legacy")  # mixed encodings on one kernel
    a.kernel_info()
    b.kernel_info()
    assert gw.rest.kernel(model["id"]).json()["connections"] == 2
    res = a.execute("print('to everyone')")
    assert res.stdout == "to everyone\n"
    seen_by_b = [b.wait_for(lambda m: parent_id(m) == res.msg_id and m["msg_type"] == "stream", 15, what="iopub on B")]
    b.wait_for(lambda m: parent_id(m) == res.msg_id and is_status("idle")(m), 15, what="idle on B")
    seen_by_b += b.drain(1.0)
    assert seen_by_b[0]["content"]["text"] == "to everyone\n"
    assert not [m for m in seen_by_b if m["msg_type"] == "execute_reply" and parent_id(m) == res.msg_id]
    b.close()
    wait_until(lambda: gw.rest.kernel(model["id"]).json()["connections"] == 1, 10, what="connections == 1")


def test_same_session_reconnect_replaces_first(gw, kernels, protocol):
    model = kernels.start(gw)
    session = uuid.uuid4().hex
    first = kernels.ws(gw, model["id"], protocol, session_id=session)
    first.kernel_info()
    second = kernels.ws(gw, model["id"], protocol, session_id=session)
    assert second.kernel_info(timeout=5)["content"]["status"] == "ok"
    # The newest connection of a session gets the session's replies at once. The older one is not closed
    # (jupyter_server's gateway proxy would re-dial it and the two would evict each other); it only keeps
    # seeing iopub until its client closes it.
    res = second.collect(second.send_execute("print('second')"), timeout=15)
    assert res.stdout == "second\n"
    first_saw = first.drain(0.5)
    assert not [m for m in first_saw if m["msg_type"] == "execute_reply" and parent_id(m) == res.msg_id]
    first.close()
    assert second.execute_ok("print('still')") == "still\n"


def test_same_session_reconnect_after_abandon(gw, kernels, protocol):
    """The client vanished without a close frame (laptop lid closed): reconnecting must be immediate."""
    model = kernels.start(gw)
    session = uuid.uuid4().hex
    first = kernels.ws(gw, model["id"], protocol, session_id=session)
    first.kernel_info()
    first.abandon()
    second = kernels.ws(gw, model["id"], protocol, session_id=session)
    assert second.kernel_info(timeout=5)["content"]["status"] == "ok"
    assert second.execute_ok("print(1)") == "1\n"


def test_offline_messages_replayed_to_same_session(gw, kernels, protocol):
    model = kernels.start(gw)
    session = uuid.uuid4().hex
    ws = kernels.ws(gw, model["id"], protocol, session_id=session)
    ws.kernel_info()
    msg_id = ws.send_execute("import time\ntime.sleep(1)\nprint('late')")
    ws.close()
    time.sleep(2.5)  # the output is produced while nobody is connected
    ws = kernels.ws(gw, model["id"], protocol, session_id=session)
    res = ws.collect(msg_id, timeout=15)
    assert res.stdout == "late\n"
    assert res.status == "ok"


@pytest.mark.ej_only  # EG discards the buffer as soon as a client with another session id connects
def test_replay_survives_parallel_clients(gw, kernels):
    """Another client connecting meanwhile neither steals nor discards the first session's execute_reply."""
    model = kernels.start(gw)
    session = uuid.uuid4().hex
    a = kernels.ws(gw, model["id"], "legacy", session_id=session)
    a.kernel_info()
    msg_id = a.send_execute("import time\ntime.sleep(1)\nprint('for a')")
    a.close()
    b = kernels.ws(gw, model["id"], "legacy")
    b.wait_for(lambda m: parent_id(m) == msg_id and is_status("idle")(m), 15, what="B to see A's idle")
    assert not [m for m in b.drain(0.5) if m["msg_type"] == "execute_reply" and parent_id(m) == msg_id]
    a = kernels.ws(gw, model["id"], "legacy", session_id=session)
    reply = a.wait_for(lambda m: parent_id(m) == msg_id and m["msg_type"] == "execute_reply", 15, what="A's replay")
    assert reply["content"]["status"] == "ok"


def test_concurrent_clients_many_executes(gw, kernels):
    """Four clients on one kernel, interleaved executes: every client gets exactly its own replies."""
    model = kernels.start(gw)
    clients = [kernels.ws(gw, model["id"], "v1" if i % 2 else "legacy") for i in range(4)]
    errors = []

    def run(i, ws):
        try:
            for j in range(10):
                out = ws.execute_ok(f"print({i} * 1000 + {j})", timeout=60)
                assert out == f"{i * 1000 + j}\n", out
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, ws)) for i, ws in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_control_channel_and_shutdown_request_roundtrip(gw, kernels, protocol):
    """Requests on the control channel are answered on the control channel."""
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    reply = ws.request("control", "kernel_info_request", {})
    assert reply["channel"] == "control"
    assert reply["content"]["status"] == "ok"


def test_websocket_base_url(gw_alt, kernels, protocol):
    """WebSocket and REST under a base_url, with the configured default kernel (ipykernel 6)."""
    r = gw_alt.rest.post("api/kernels", json={})
    assert r.status_code == 201, r.text
    kernels.track(gw_alt.rest, r.json()["id"])
    assert r.json()["name"] == "python3_ipykernel6"
    ws = kernels.ws(gw_alt, r.json()["id"], protocol)
    assert ws.execute_ok("import ipykernel\nprint(ipykernel.__version__.split('.')[0])") == "6\n"


def test_ws_closed_cleanly_by_client_leaves_kernel_running(gw, kernels, protocol):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    ws.execute_ok("y = 7")
    ws.close()
    wait_until(lambda: gw.rest.kernel(model["id"]).json()["connections"] == 0, 10, what="connections == 0")
    ws = kernels.ws(gw, model["id"], protocol)
    assert ws.execute_ok("print(y)") == "7\n"


def test_status_messages_have_iopub_channel(gw, kernels, protocol):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"], protocol)
    res = ws.execute("pass")
    states = [m["content"]["execution_state"] for m in res.messages if m["msg_type"] == "status"]
    assert states[0] == "busy" and states[-1] == "idle"
    assert all(m["channel"] == "iopub" for m in res.messages if m["msg_type"] == "status")
    assert [m["channel"] for m in res.messages if m["msg_type"] == "execute_reply"] == ["shell"]

