"""Token authentication (token given through EG_AUTH_TOKEN) and CORS (--allow-origin)."""

from __future__ import annotations

import pytest
import requests

from conftest import AUTH_TOKEN, CORS_ORIGIN
from helpers import assert_json_error, ws_handshake_status


def plain_get(gw, path, **kw):
    kw.setdefault("timeout", 30)
    return requests.get(f"{gw.http_url}{gw.base_url}{path}", **kw)


@pytest.mark.parametrize("path", ["api", "api/kernelspecs", "api/kernels", "api/sessions",
                                  "api/kernels/6f1f7a26-4a7b-4b8e-9c55-000000000000"])
def test_no_token_401(gw_token, path):
    assert_json_error(plain_get(gw_token, path), 401, [AUTH_TOKEN])


@pytest.mark.parametrize("header", [f"token {AUTH_TOKEN}x", "token ", "token", f"Basic {AUTH_TOKEN}",
                                    f"token{AUTH_TOKEN}", AUTH_TOKEN])
def test_wrong_token_401(gw_token, header):
    assert_json_error(plain_get(gw_token, "api/kernelspecs", headers={"Authorization": header}), 401, [AUTH_TOKEN])


def test_wrong_query_token_401(gw_token):
    assert_json_error(plain_get(gw_token, "api/kernelspecs", params={"token": AUTH_TOKEN[:-1]}), 401)


def test_token_header(gw_token):
    r = plain_get(gw_token, "api/kernelspecs", headers={"Authorization": f"token {AUTH_TOKEN}"})
    assert r.status_code == 200
    assert "python3" in r.json()["kernelspecs"]


@pytest.mark.ej_only  # EG accepts only "token <t>"
def test_bearer_header(gw_token):
    r = plain_get(gw_token, "api/kernelspecs", headers={"Authorization": f"Bearer {AUTH_TOKEN}"})
    assert r.status_code == 200


def test_query_token(gw_token):
    r = plain_get(gw_token, "api/kernelspecs", params={"token": AUTH_TOKEN})
    assert r.status_code == 200


def test_post_kernel_without_token_starts_nothing(gw_token):
    before = gw_token.rest.get("api/kernels").json()
    assert_json_error(requests.post(f"{gw_token.http_url}/api/kernels", json={"name": "python3"}, timeout=30), 401)
    assert_json_error(requests.delete(f"{gw_token.http_url}/api/kernels/{'0' * 8}-0000-4000-8000-{'0' * 12}", timeout=30), 401)
    assert gw_token.rest.get("api/kernels").json() == before


@pytest.mark.ej_only  # EG has no /healthz or /readyz
@pytest.mark.parametrize("path", ["healthz", "readyz"])
def test_probes_need_no_token(gw_token, path):
    assert requests.get(f"{gw_token.http_url}/{path}", timeout=30).status_code == 200


def test_websocket_needs_token(gw_token, kernels):
    model = kernels.start(gw_token)
    url = gw_token.ws_url(model["id"])
    assert ws_handshake_status(url) == 401
    assert ws_handshake_status(url, [f"Authorization: token {AUTH_TOKEN}x"]) == 401
    assert ws_handshake_status(url + f"?token={AUTH_TOKEN}") == 101
    assert ws_handshake_status(url, [f"Authorization: token {AUTH_TOKEN}"]) == 101
    ws = kernels.ws(gw_token, model["id"])
    assert ws.execute_ok("print('authorized')").strip() == "authorized"


def test_token_not_visible_in_kernel(gw_token, kernels):
    for body in ({}, {"env": {"KERNEL_USERNAME": "bob", "EG_AUTH_TOKEN": "x"}}):
        model = kernels.start(gw_token, "python3", **body)
        ws = kernels.ws(gw_token, model["id"])
        out = ws.execute_ok(
            "import os\n"
            "print(os.environ.get('EG_AUTH_TOKEN'))\n"
            f"print(any({AUTH_TOKEN!r} in v for v in os.environ.values()))\n")
        assert out.split() == ["None", "False"], (body, out)


# --------------------------------------------------------------------------------------------
# CORS
# --------------------------------------------------------------------------------------------


def test_cors_headers(gw_token):
    r = plain_get(gw_token, "api/kernelspecs", headers={"Authorization": f"token {AUTH_TOKEN}", "Origin": CORS_ORIGIN})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN


def test_cors_preflight_without_token(gw_token):
    r = requests.options(f"{gw_token.http_url}/api/kernels", timeout=30, headers={
        "Origin": CORS_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    assert r.status_code in (200, 204), r.text
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN


def test_cors_on_errors_too(gw_token):
    r = plain_get(gw_token, "api/kernelspecs", headers={"Origin": CORS_ORIGIN})
    assert r.status_code == 401
    assert r.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
