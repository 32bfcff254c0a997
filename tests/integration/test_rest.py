"""REST surface (PROTOCOL.md §1) against the default gateway configuration."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from helpers import (KERNEL_MODEL_KEYS, LAST_ACTIVITY_RE, UUID_RE, assert_json_error, raw_http,
                     ws_handshake_status, wait_until)
from procs import LOGO

pytestmark = pytest.mark.usefixtures("gw")


def assert_kernel_model(model: dict, name: str | None = None):
    assert KERNEL_MODEL_KEYS <= set(model), model
    assert UUID_RE.match(model["id"]), model["id"]
    if name:
        assert model["name"] == name
    assert LAST_ACTIVITY_RE.match(model["last_activity"]), model["last_activity"]
    assert isinstance(model["execution_state"], str) and model["execution_state"]
    assert isinstance(model["connections"], int) and not isinstance(model["connections"], bool)


def forbidden_paths(gw) -> list[str]:
    """Server-side filesystem locations that must never appear in an error body."""
    from procs import REPO_ROOT

    return [str(d) for d in gw.config.kernelspec_dirs] + [str(gw.config.root_dir), str(REPO_ROOT)]


# --------------------------------------------------------------------------------------------
# /api, kernelspecs, resources
# --------------------------------------------------------------------------------------------


def test_api_version(gw):
    r = gw.rest.get("api")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body.get("version"), str) and body["version"]


def test_kernelspecs_list(gw):
    r = gw.rest.get("api/kernelspecs")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["default"] == "python3"
    specs = body["kernelspecs"]
    for name in ("python3", "python3_ipykernel6", "message_interrupt", "authz", "python3_env"):
        assert name in specs, sorted(specs)
        model = specs[name]
        assert model["name"] == name
        assert set(model) >= {"name", "spec", "resources"}
        assert isinstance(model["spec"]["argv"], list)
        assert model["spec"]["language"] == "python"
        assert isinstance(model["spec"]["display_name"], str)
    assert specs["python3"]["spec"]["display_name"] == "Python 3"
    assert specs["message_interrupt"]["spec"]["interrupt_mode"] == "message"
    assert specs["python3"]["spec"].get("interrupt_mode", "signal") == "signal"
    assert specs["authz"]["spec"]["metadata"]["process_proxy"]["config"]["unauthorized_users"] == "bad_guy"


def test_kernelspec_single_and_unknown(gw):
    r = gw.rest.get("api/kernelspecs/python3_ipykernel6")
    assert r.status_code == 200
    model = r.json()
    assert model["name"] == "python3_ipykernel6"
    assert model["spec"]["display_name"] == "Python 3 (ipykernel 6)"
    body = assert_json_error(gw.rest.get("api/kernelspecs/no_such_spec"), 404, forbidden_paths(gw))
    assert "no_such_spec" in body["message"] + body["reason"]


def test_kernelspec_resources_served(gw):
    model = gw.rest.get("api/kernelspecs").json()["kernelspecs"]["python3"]
    logo_url = model["resources"].get("logo-64x64")
    assert logo_url == f"{gw.base_url}kernelspecs/python3/logo-64x64.png", model["resources"]
    r = gw.rest.session.get(gw.http_url + logo_url, timeout=30)
    assert r.status_code == 200
    assert r.content == LOGO
    assert r.headers.get("Content-Type", "").startswith("image/png")


def test_kernelspec_resource_unknown_file(gw):
    status, _, _ = raw_http(gw.host, gw.port, "GET", "/kernelspecs/python3/no-such-file.png")
    assert status == 404
    status, _, _ = raw_http(gw.host, gw.port, "GET", "/kernelspecs/no_such_spec/logo-64x64.png")
    assert status == 404


@pytest.mark.ej_only  # tornado's StaticFileHandler answers 403 for some of these
@pytest.mark.parametrize("path", [
    "/kernelspecs/python3/../../etc/passwd",
    "/kernelspecs/python3/../../../../../../etc/passwd",
    "/kernelspecs/python3/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/kernelspecs/python3/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/kernelspecs/python3/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/kernelspecs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/kernelspecs/python3/..%5c..%5c..%5cetc%5cpasswd",
    "/kernelspecs/python3//etc/passwd",
    "/kernelspecs/python3/%2fetc%2fpasswd",
    "/kernelspecs/python3/logo-64x64.png%00.txt",
])
def test_kernelspec_resource_traversal(gw, path):
    status, _, body = raw_http(gw.host, gw.port, "GET", path)
    assert b"root:" not in body
    assert status == 404, (path, status, body[:200])


def test_kernelspec_resource_does_not_escape_to_other_files(gw):
    """Whatever the status, nothing outside the spec directory is served."""
    for path in ("/kernelspecs/python3/../python3_ipykernel6/kernel.json",
                 "/kernelspecs/python3/%2e%2e/authz/kernel.json"):
        status, _, body = raw_http(gw.host, gw.port, "GET", path)
        assert b"root:" not in body
        assert status in (200, 400, 403, 404)
        if status == 200:  # a normalising server may resolve it inside the kernelspecs tree: only spec files
            assert json.loads(body)["language"] == "python"


# --------------------------------------------------------------------------------------------
# kernels CRUD
# --------------------------------------------------------------------------------------------


def test_kernel_lifecycle(gw, kernels):
    r = gw.rest.post("api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    model = r.json()
    kernels.track(gw.rest, model["id"])
    assert_kernel_model(model, "python3")
    assert r.headers["Location"] == f"{gw.base_url}api/kernels/{model['id']}"

    r = gw.rest.kernel(model["id"])
    assert r.status_code == 200
    assert_kernel_model(r.json(), "python3")
    assert r.json()["id"] == model["id"]

    r = gw.rest.get("api/kernels")
    assert r.status_code == 200
    listed = r.json()
    assert isinstance(listed, list)
    mine = [k for k in listed if k["id"] == model["id"]]
    assert len(mine) == 1
    assert_kernel_model(mine[0], "python3")

    kernels.ws(gw, model["id"]).kernel_info(timeout=60)  # interrupting a kernel that is still starting may kill it
    r = gw.rest.post(f"api/kernels/{model['id']}/interrupt")
    assert r.status_code == 204, r.text

    r = gw.rest.post(f"api/kernels/{model['id']}/restart")
    assert r.status_code == 200, r.text
    assert_kernel_model(r.json(), "python3")
    assert r.json()["id"] == model["id"]

    r = gw.rest.delete_kernel(model["id"])
    assert r.status_code == 204
    assert r.content == b""
    assert_json_error(gw.rest.kernel(model["id"]), 404)
    assert_json_error(gw.rest.delete_kernel(model["id"]), 404)
    assert model["id"] not in [k["id"] for k in gw.rest.get("api/kernels").json()]


def test_post_without_body_uses_default_kernel(gw, kernels):
    r = gw.rest.post("api/kernels")  # no body at all, no Content-Type (EG's own client does this)
    assert r.status_code == 201, r.text
    kernels.track(gw.rest, r.json()["id"])
    assert r.json()["name"] == "python3"


def test_post_with_empty_object(gw, kernels):
    r = gw.rest.post("api/kernels", data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    kernels.track(gw.rest, r.json()["id"])
    assert r.json()["name"] == "python3"


@pytest.mark.ej_only  # EG answers at once, with "starting"
def test_post_answers_with_a_ready_idle_kernel(gw, kernels):
    """The start answers once the kernel is ready, and the model says idle: not starting, and not the busy
    caused by the gateway's own readiness probe."""
    for _ in range(3):
        r = gw.rest.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        kernels.track(gw.rest, r.json()["id"])
        assert r.json()["execution_state"] == "idle", r.json()


@pytest.mark.ej_only  # EG: 500 with a traceback
def test_unknown_kernelspec_is_404(gw):
    body = assert_json_error(gw.rest.post("api/kernels", json={"name": "no_such_kernel_xyz"}), 404, forbidden_paths(gw))
    assert "no_such_kernel_xyz" in body["message"]


@pytest.mark.parametrize("kernel_id", [str(uuid.uuid4()), "garbage", "00000000-0000-0000-0000-000000000000x",
                                       "a-b-c-d-e", "..."])
def test_unknown_kernel_ids(gw, kernel_id):
    assert_json_error(gw.rest.get(f"api/kernels/{kernel_id}"), 404)
    assert_json_error(gw.rest.delete(f"api/kernels/{kernel_id}"), 404)
    assert_json_error(gw.rest.post(f"api/kernels/{kernel_id}/interrupt"), 404)


@pytest.mark.ej_only  # EG: 500 "Exception restarting kernel" with a traceback
@pytest.mark.parametrize("kernel_id", [str(uuid.uuid4()), "garbage", "a-b-c-d-e"])
def test_restart_unknown_kernel_404(gw, kernel_id):
    assert_json_error(gw.rest.post(f"api/kernels/{kernel_id}/restart"), 404)


def test_ws_to_unknown_kernel_is_404(gw):
    assert ws_handshake_status(gw.ws_url(str(uuid.uuid4()))) == 404


def test_unknown_route_is_json_404(gw):
    for path in ("api/nothing-here", "api/contents", "tree", "api/kernels/x/y/z"):
        assert_json_error(gw.rest.get(path), 404)


# --------------------------------------------------------------------------------------------
# malformed input
# --------------------------------------------------------------------------------------------


def post_raw(gw, data: bytes, ctype="application/json"):
    return gw.rest.post("api/kernels", data=data, headers={"Content-Type": ctype})


@pytest.mark.parametrize("data", [
    b"{not json",
    b'{"name": "python3"',
    b'{"name": "py\x00thon3"}',
    b"\x00\x00\x00\x00",
])
def test_malformed_body_400(gw, data):
    assert_json_error(post_raw(gw, data), 400, forbidden_paths(gw))


@pytest.mark.ej_only  # EG: 500 (UnicodeDecodeError) with a traceback
@pytest.mark.parametrize("data", [b"\xff\xfe\xfa{}", b'{"name": "py\xc3\x28thon3"}', b'{"env": {"KERNEL_X": "\xed\xa0\x80"}}'])
def test_non_utf8_body_400(gw, data):
    assert_json_error(post_raw(gw, data), 400, forbidden_paths(gw))


@pytest.mark.parametrize("body", [
    {"env": "x"},
    {"env": ["KERNEL_X", "1"]},
    {"env": {"KERNEL_X": 5}},
    {"env": {"KERNEL_X": None}},
    {"env": {"KERNEL_X": {"nested": "x"}}},
])
def test_wrong_env_shape_400(gw, body):
    assert_json_error(gw.rest.post("api/kernels", json=body), 400, forbidden_paths(gw))


@pytest.mark.ej_only  # EG: 500
@pytest.mark.parametrize("body", [[], ["python3"], "python3", 5, {"name": 5}, {"name": ["python3"]}, {"path": 7}])
def test_wrong_shape_400(gw, body):
    assert_json_error(gw.rest.post("api/kernels", json=body), 400, forbidden_paths(gw))


@pytest.mark.ej_only  # EG: 404 (unknown kernel) / 500
def test_nul_in_kernel_name_rejected(gw):
    assert_json_error(gw.rest.post("api/kernels", json={"name": "python3\u0000"}), (400, 404), forbidden_paths(gw))


@pytest.mark.ej_only  # EG 3.3.0 predates this check (EG HEAD has it)
@pytest.mark.parametrize("value", ["$HOME", "${HOME}", "a$(id)", "`id`", "a\nb", "a\rb", "a\u0000b", "x" * 4097])
def test_prohibited_env_values_400(gw, kernels, value):
    r = gw.rest.post("api/kernels", json={"name": "python3", "env": {"KERNEL_BAD": value}})
    if r.status_code == 201:
        kernels.track(gw.rest, r.json()["id"])
    body = assert_json_error(r, 400)
    assert "KERNEL_BAD" in body["message"] + body["reason"]


def test_env_value_at_limit_accepted(gw, kernels):
    model = kernels.start(gw, "python3", env={"KERNEL_LONG": "x" * 4096})
    assert model["name"] == "python3"


@pytest.mark.ej_only  # EG has no body limit
def test_body_too_large_413(gw, kernels):
    big = json.dumps({"name": "python3", "env": {"KERNEL_PAD": "x" * 4000}, "pad": "y" * (100 * 1024)}).encode()
    r = post_raw(gw, big)
    if r.status_code == 201:
        kernels.track(gw.rest, r.json()["id"])
    assert_json_error(r, 413)
    # and the gateway is still fine afterwards
    assert gw.rest.get("api").status_code == 200


# --------------------------------------------------------------------------------------------
# authorization by kernelspec (process_proxy.config.authorized_users / unauthorized_users)
# --------------------------------------------------------------------------------------------


def test_authz_allowed_user(gw, kernels):
    model = kernels.start(gw, "authz", env={"KERNEL_USERNAME": "bob"})
    assert model["name"] == "authz"


@pytest.mark.parametrize("user", ["bad_guy", "mallory"])
def test_authz_denied_user(gw, user):
    r = gw.rest.post("api/kernels", json={"name": "authz", "env": {"KERNEL_USERNAME": user}})
    body = assert_json_error(r, 403)
    assert user in body["message"] + body["reason"]


def test_kernelspecs_user_filter(gw):
    bob = gw.rest.get("api/kernelspecs", params={"user": "bob"}).json()["kernelspecs"]
    bad = gw.rest.get("api/kernelspecs", params={"user": "bad_guy"}).json()["kernelspecs"]
    assert "authz" in bob and "python3" in bob
    assert "authz" not in bad and "python3" in bad
    assert_json_error(gw.rest.get("api/kernelspecs/authz", params={"user": "bad_guy"}), 403)


# --------------------------------------------------------------------------------------------
# sessions
# --------------------------------------------------------------------------------------------


def session_path(model: dict) -> str:
    if "path" in model:
        return model["path"]
    return model["notebook"]["path"]


def test_sessions_create_list_delete(gw, kernels):
    """The subset Enterprise Gateway itself supports (its test_crud_sessions)."""
    r = gw.rest.post("api/sessions", json={"path": "c.ipynb", "type": "notebook", "kernel": {"name": "python3"}})
    assert r.status_code == 201, r.text
    s = r.json()
    kernels.track(gw.rest, s["kernel"]["id"])
    assert session_path(s) == "c.ipynb"
    listed = gw.rest.get("api/sessions")
    assert listed.status_code == 200, listed.text
    assert s["id"] in [x["id"] for x in listed.json()]
    assert gw.rest.delete(f"api/sessions/{s['id']}").status_code == 204
    listed = gw.rest.get("api/sessions")
    assert listed.status_code == 200, listed.text
    assert s["id"] not in [x["id"] for x in listed.json()]
    wait_until(lambda: gw.rest.kernel(s["kernel"]["id"]).status_code == 404, 30, what="session kernel to be deleted")


@pytest.mark.ej_only  # EG: GET/PATCH /api/sessions/{id} fail with 500
def test_sessions_crud(gw, kernels):
    r = gw.rest.post("api/sessions", json={"path": "nb/a.ipynb", "type": "notebook", "name": "a.ipynb",
                                           "kernel": {"name": "python3"}})
    assert r.status_code == 201, r.text
    s = r.json()
    kernels.track(gw.rest, s["kernel"]["id"])
    sid = s["id"]
    assert UUID_RE.match(sid)
    assert r.headers["Location"] == f"{gw.base_url}api/sessions/{sid}"
    assert session_path(s) == "nb/a.ipynb"
    assert s["kernel"]["name"] == "python3"
    assert_kernel_model(s["kernel"], "python3")
    assert gw.rest.kernel(s["kernel"]["id"]).status_code == 200

    listed = gw.rest.get("api/sessions")
    assert listed.status_code == 200
    assert sid in [x["id"] for x in listed.json()]

    got = gw.rest.get(f"api/sessions/{sid}")
    assert got.status_code == 200, got.text
    assert got.json()["id"] == sid and got.json()["kernel"]["id"] == s["kernel"]["id"]

    patched = gw.rest.patch(f"api/sessions/{sid}", json={"path": "nb/b.ipynb", "name": "b.ipynb"})
    assert patched.status_code == 200, patched.text
    assert session_path(patched.json()) == "nb/b.ipynb"
    assert session_path(gw.rest.get(f"api/sessions/{sid}").json()) == "nb/b.ipynb"

    patched = gw.rest.patch(f"api/sessions/{sid}", json={"kernel": {"name": "python3_ipykernel6"}})
    assert patched.status_code == 200, patched.text
    new_kernel = patched.json()["kernel"]
    kernels.track(gw.rest, new_kernel["id"])
    assert new_kernel["name"] == "python3_ipykernel6"
    r = gw.rest.kernel(new_kernel["id"])
    assert r.status_code == 200 and r.json()["name"] == "python3_ipykernel6"

    r = gw.rest.delete(f"api/sessions/{sid}")
    assert r.status_code == 204
    assert_json_error(gw.rest.get(f"api/sessions/{sid}"), 404)
    wait_until(lambda: gw.rest.kernel(new_kernel["id"]).status_code == 404, 30, what="session kernel to be deleted")
    assert sid not in [x["id"] for x in gw.rest.get("api/sessions").json()]
    assert gw.rest.delete(f"api/sessions/{sid}").status_code in (404, 410)


@pytest.mark.parametrize("body", [{"type": "notebook", "kernel": {"name": "python3"}}, {"path": "x.ipynb"}])
def test_sessions_missing_fields_400(gw, body):
    assert_json_error(gw.rest.post("api/sessions", json=body), 400)


@pytest.mark.ej_only  # EG: 500
@pytest.mark.parametrize("body", [{"path": 5, "type": "notebook"}, {"path": "x.ipynb", "type": "notebook", "kernel": "python3"},
                                  [], "x"])
def test_sessions_wrong_shape_400(gw, body):
    assert_json_error(gw.rest.post("api/sessions", json=body), 400)


def test_sessions_unknown_kernelspec(gw):
    r = gw.rest.post("api/sessions", json={"path": "u.ipynb", "type": "notebook", "kernel": {"name": "no_such_kernel_q"}})
    assert r.status_code in (400, 404, 501), r.text


@pytest.mark.ej_only  # EG answers 500 for GET/PATCH of a session id
def test_unknown_session_404(gw):
    sid = str(uuid.uuid4())
    assert_json_error(gw.rest.get(f"api/sessions/{sid}"), 404)
    assert_json_error(gw.rest.patch(f"api/sessions/{sid}", json={"path": "z.ipynb"}), 404)


# --------------------------------------------------------------------------------------------
# misc
# --------------------------------------------------------------------------------------------


def test_no_cors_headers_by_default(gw):
    r = gw.rest.get("api", headers={"Origin": "http://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_last_activity_advances_with_execution(gw, kernels):
    model = kernels.start(gw)
    ws = kernels.ws(gw, model["id"])
    ws.execute_ok("1+1")
    before = gw.rest.kernel(model["id"]).json()["last_activity"]
    time.sleep(0.05)
    ws.execute_ok("print('tick')")
    after = gw.rest.kernel(model["id"]).json()
    assert LAST_ACTIVITY_RE.match(after["last_activity"])
    assert after["last_activity"] > before
    assert after["execution_state"] in ("idle", "busy")
    assert after["connections"] == 1
