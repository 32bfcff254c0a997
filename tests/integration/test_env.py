"""What reaches the kernel process: environment allow-listing and working directory."""

from __future__ import annotations

import ast
import os

import pytest

from conftest import INHERITED_VALUE, SECRET_VALUE

PRINT_ENV = "import os\nfor k in {keys!r}:\n    print(k, '=', repr(os.environ.get(k)))\n"


def kernel_env(gw, kernels, keys, name="python3", **body) -> dict:
    model = kernels.start(gw, name, **body)
    ws = kernels.ws(gw, model["id"])
    out = ws.execute_ok(PRINT_ENV.format(keys=list(keys)))
    result = {}
    for line in out.splitlines():
        k, _, v = line.partition(" = ")
        result[k] = ast.literal_eval(v)  # repr() of str/None printed by the kernel
    return result


@pytest.mark.ej_only  # EG gives the kernel its whole environment when the request has no "env"
def test_no_env_in_request_does_not_leak_gateway_environment(gw, kernels):
    env = kernel_env(gw, kernels, ["SECRET_GW_VAR", "NOT_INHERITED"])
    assert env == {"SECRET_GW_VAR": None, "NOT_INHERITED": None}


def test_env_object_does_not_leak_gateway_environment(gw, kernels):
    env = kernel_env(gw, kernels, ["SECRET_GW_VAR", "NOT_INHERITED"], env={"KERNEL_USERNAME": "bob"})
    assert env == {"SECRET_GW_VAR": None, "NOT_INHERITED": None}


def test_kernel_and_client_envs_pass_others_dropped(gw, kernels):
    env = kernel_env(gw, kernels, ["KERNEL_FOO", "KERNEL_USERNAME", "CLIENT_OK", "NOT_ALLOWED", "PATH_EXTRA", "INHERIT_ME"],
                     env={"KERNEL_FOO": "bar baz", "KERNEL_USERNAME": "alice", "CLIENT_OK": "yes",
                          "NOT_ALLOWED": "dropped", "PATH_EXTRA": "dropped", "INHERIT_ME": "client-tried"})
    assert env["KERNEL_FOO"] == "bar baz"
    assert env["KERNEL_USERNAME"] == "alice"
    assert env["CLIENT_OK"] == "yes"
    assert env["NOT_ALLOWED"] is None
    assert env["PATH_EXTRA"] is None
    assert env["INHERIT_ME"] == INHERITED_VALUE  # not a client env: the gateway's own value wins


def test_inherited_envs(gw, kernels):
    env = kernel_env(gw, kernels, ["INHERIT_ME", "SECRET_GW_VAR"], env={"KERNEL_USERNAME": "bob"})
    assert env == {"INHERIT_ME": INHERITED_VALUE, "SECRET_GW_VAR": None}


def test_kernelspec_env_with_substitution(gw, kernels):
    env = kernel_env(gw, kernels, ["SPEC_USER", "SPEC_FIXED", "KERNEL_OVERRIDE"], name="python3_env",
                     env={"KERNEL_USERNAME": "carol", "KERNEL_OVERRIDE": "from-request"})
    assert env == {"SPEC_USER": "user-carol", "SPEC_FIXED": "fixed-value", "KERNEL_OVERRIDE": "from-request"}


def test_kernelspec_env_without_request_env(gw, kernels):
    env = kernel_env(gw, kernels, ["SPEC_FIXED", "KERNEL_OVERRIDE"], name="python3_env")
    assert env == {"SPEC_FIXED": "fixed-value", "KERNEL_OVERRIDE": "from-spec"}


def test_secret_value_nowhere_in_kernel_environment(gw, kernels):
    model = kernels.start(gw, "python3", env={"KERNEL_USERNAME": "bob"})
    ws = kernels.ws(gw, model["id"])
    out = ws.execute_ok(f"import os\nprint(sorted(k for k, v in os.environ.items() if {SECRET_VALUE!r} in v))")
    assert out.strip() == "[]"


# --------------------------------------------------------------------------------------------
# working directory
# --------------------------------------------------------------------------------------------

CWD_CODE = "import os\nprint(os.getcwd())\n"


def kernel_cwd(gw, kernels, path):
    model = kernels.start(gw, "python3", path=path)
    ws = kernels.ws(gw, model["id"])
    return ws, os.path.realpath(ws.execute_ok(CWD_CODE).strip())


def test_cwd_from_path(gw, kernels, root_dir):
    ws, cwd = kernel_cwd(gw, kernels, "sub/nb.ipynb")
    assert cwd == str(root_dir / "sub")
    assert ws.execute_ok("print(open('data.csv').read())").strip() == "a,b\n1,2"


def test_cwd_without_path_is_root(gw, kernels, root_dir):
    model = kernels.start(gw, "python3")
    ws = kernels.ws(gw, model["id"])
    assert os.path.realpath(ws.execute_ok(CWD_CODE).strip()) == str(root_dir)


def test_cwd_of_missing_directory_falls_back_inside_root(gw, kernels, root_dir):
    _, cwd = kernel_cwd(gw, kernels, "no/such/dir/nb.ipynb")
    assert cwd == str(root_dir)


@pytest.mark.ej_only  # EG's cwd_for_path does not normalise '..': the kernel runs in /etc
@pytest.mark.parametrize("path", ["../../etc/x.ipynb", "../../../../../../../../etc/x.ipynb", "sub/../../x.ipynb",
                                  "/etc/x.ipynb", "sub/%2e%2e/%2e%2e/x.ipynb"])
def test_cwd_never_outside_root(gw, kernels, root_dir, path):
    r = gw.rest.post("api/kernels", json={"name": "python3", "path": path})
    if r.status_code == 400:
        return
    assert r.status_code == 201, r.text
    kernels.track(gw.rest, r.json()["id"])
    ws = kernels.ws(gw, r.json()["id"])
    cwd = os.path.realpath(ws.execute_ok(CWD_CODE).strip())
    assert cwd == str(root_dir) or cwd.startswith(str(root_dir) + os.sep), cwd
