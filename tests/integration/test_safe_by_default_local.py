"""Safe by default, local kernels on a shared host (issue 13; review findings 15 and 31).

- The runtime directory (connection files: ports and HMAC keys) is private: a ``--runtime-dir`` that others could
  write to, that is a symlink, or that belongs to another user makes the gateway refuse to start with a clear
  message; by default it is ``$XDG_RUNTIME_DIR`` or Jupyter's runtime directory under ``$HOME`` (mode 0700),
  never a predictable name in ``/tmp``.
- A connection file name planted as a symlink is never followed (the target is untouched, even a missing one).
- A kernel that died and was reaped: its process id may be reused by an unrelated process group, which the
  gateway must never signal (a DELETE or restart of the dead kernel used to ``kill(-pid, SIGKILL)``).
"""

from __future__ import annotations

import os
import pwd
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from helpers import free_port, pid_alive, wait_until
from procs import EJ_BINARY, IMPL, binary_knows, clean_env

pytestmark = pytest.mark.skipif(IMPL == "eg", reason="ElasticJupyter's local provisioner (issue 13)")


def run_until_exit(args: list[str], env: dict[str, str], port: int, timeout: float = 20) -> tuple[int | None, str]:
    """Run the gateway; (exit code, output), the code None if it started serving on ``port`` instead (or was still
    running after ``timeout``); it is killed then."""
    import requests

    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        return None, out.decode(errors="replace")
    out, _ = proc.communicate(timeout=10)
    return proc.returncode, out.decode(errors="replace")


def gateway_args(kernelspecs_dir: Path, port: int, *extra: str) -> list[str]:
    args = [str(EJ_BINARY), "gateway", "--ip", "127.0.0.1", "--port", str(port), "--kernelspecs-dir", str(kernelspecs_dir)]
    if binary_knows("--allow-unauthenticated"):
        args.append("--allow-unauthenticated")
    return args + list(extra)


# --------------------------------------------------------------------------------------------
# finding 15: the runtime directory
# --------------------------------------------------------------------------------------------


def _world_writable(d: Path) -> Path:
    d.mkdir()
    d.chmod(0o777)
    return d


def _symlink(d: Path) -> Path:
    real = d.parent / (d.name + "-real")
    real.mkdir(mode=0o700)
    d.symlink_to(real)
    return d


def _other_owner(d: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a directory to another user")
    d.mkdir(mode=0o700)
    nobody = pwd.getpwnam("nobody")
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    return d


UNSAFE_DIRS = {"world_writable": (_world_writable, ("mode", "permission", "writable", "0777", "777")),
               "symlink": (_symlink, ("link",)),
               "other_owner": (_other_owner, ("owner", "owned", "belongs"))}


@pytest.mark.parametrize("case", sorted(UNSAFE_DIRS))
def test_finding15_unsafe_runtime_dir_refuses_to_start(tmp_path, kernelspecs_dir, case):
    make, words = UNSAFE_DIRS[case]
    runtime = make(tmp_path / "runtime")
    before = stat.S_IMODE(os.lstat(runtime).st_mode)
    port = free_port()
    code, out = run_until_exit(gateway_args(kernelspecs_dir, port, "--runtime-dir", str(runtime)), clean_env(), port)
    assert code is not None, f"the gateway started with a {case} runtime directory:\n{out[-1500:]}"
    assert code != 0, f"exit code 0 with a {case} runtime directory:\n{out[-1500:]}"
    assert str(runtime) in out or runtime.name in out, f"the message does not name the directory:\n{out[-1500:]}"
    assert any(w in out.lower() for w in words), f"the message does not say what is wrong ({words}):\n{out[-1500:]}"
    for trace in ("Fatal error", ".swift:", "Stack trace", "Backtrace", "Current stack trace"):
        assert trace not in out, f"a crash, not a clear error:\n{out[-1500:]}"
    assert stat.S_IMODE(os.lstat(runtime).st_mode) == before, "the gateway changed the directory it refused"


@pytest.mark.parametrize("where", ["home", "xdg"])
def test_finding15_default_runtime_dir_is_private_and_not_in_tmp(gateways, kernelspecs_dir, root_dir, tmp_path, kernels, where):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home)}
    unset = ["XDG_RUNTIME_DIR", "TMPDIR"]
    if where == "xdg":
        xdg = tmp_path / "xdg"
        xdg.mkdir(mode=0o700)
        env["XDG_RUNTIME_DIR"] = str(xdg)
        unset = ["TMPDIR"]
    gw = gateways(f"runtime-default-{where}", kernelspec_dirs=[kernelspecs_dir], root_dir=root_dir, env=env, unset_env=unset)
    model = kernels.start(gw, "python3")
    ws = kernels.ws(gw, model["id"])
    path = Path(ws.execute_ok("import sys; print(sys.argv[sys.argv.index('-f') + 1])").strip())
    expected = (home / ".local" / "share" / "jupyter" / "runtime") if where == "home" else xdg
    assert path.resolve().is_relative_to(expected.resolve()), f"connection file {path} is not below {expected}"
    assert not str(path).startswith("/tmp/elastic-jupyter-"), path
    directory = path.parent
    st = os.lstat(directory)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid(), directory
    assert stat.S_IMODE(st.st_mode) == 0o700, f"{directory} has mode {oct(stat.S_IMODE(st.st_mode))}"
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600, f"{path} has mode {oct(stat.S_IMODE(os.lstat(path).st_mode))}"
    if where == "home":
        for parent in (home / ".local", home / ".local" / "share", home / ".local" / "share" / "jupyter"):
            assert not (stat.S_IMODE(os.lstat(parent).st_mode) & 0o022), f"{parent} is group/world-writable"


@pytest.mark.parametrize("target_exists", [True, False], ids=["existing_target", "dangling"])
def test_finding15_planted_connection_file_symlink_is_not_followed(gateways, kernelspecs_dir, root_dir, tmp_path, kernels,
                                                                   target_exists):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    target = tmp_path / "precious"
    if target_exists:
        target.write_text("precious content\n")
        target.chmod(0o600)
    kid = str(uuid.uuid4())
    (runtime / f"kernel-{kid}.json").symlink_to(target)
    gw = gateways(f"planted-{'existing' if target_exists else 'dangling'}", kernelspec_dirs=[kernelspecs_dir],
                  root_dir=root_dir, extra_args=["--runtime-dir", str(runtime)])
    r = gw.rest.post("api/kernels", json={"name": "python3", "env": {"KERNEL_ID": kid}}, timeout=90)
    if r.status_code == 201:
        kernels.track(gw.rest, r.json()["id"])
    else:
        assert 400 <= r.status_code < 600 and "json" in r.headers.get("Content-Type", ""), r.text[:300]
    if target_exists:
        assert target.read_text() == "precious content\n", "the gateway wrote through the planted symlink"
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    else:
        assert not target.exists(), "the gateway created the planted symlink's target"
    assert gw.alive()
    assert gw.rest.get("api/kernelspecs").status_code == 200


# --------------------------------------------------------------------------------------------
# finding 31: a reaped kernel's process group is never signalled again
# --------------------------------------------------------------------------------------------


NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def spawn_with_pid(pid: int, attempts: int = 50) -> int | None:
    """Start ``sleep 60`` as the leader of a new session with exactly this process id (so its process group id is
    ``pid`` too), by setting ns_last_pid just before; other processes forking meanwhile can take the id, hence the
    retries. Returns the id, or None."""
    for _ in range(attempts):
        with open(NS_LAST_PID, "w") as f:
            f.write(str(pid - 1))
        child = os.posix_spawn("/bin/sleep", ["sleep", "60"], {"PATH": "/usr/bin:/bin"}, setsid=True)
        if child == pid:
            return child
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return None


def children_of(ppid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                out.append(int(entry))
    return out


@pytest.mark.skipif(not os.access(NS_LAST_PID, os.W_OK), reason="needs a writable /proc/sys/kernel/ns_last_pid (root)")
def test_finding31_reaped_kernel_process_group_is_never_signalled(gateways, echo_kernelspecs_dir, root_dir, kernels):
    gw = gateways("pid-reuse", kernelspec_dirs=[echo_kernelspecs_dir], root_dir=root_dir, auto_restart=False)
    kid = kernels.start(gw, "echo")["id"]
    (kernel_pid,) = wait_until(lambda: children_of(gw.pid), 10, what="the kernel process (the gateway's only child)")
    os.kill(kernel_pid, signal.SIGKILL)
    wait_until(lambda: gw.rest.kernel(kid).json()["execution_state"] == "dead", 20, what="the kernel to be reported dead")
    wait_until(lambda: not os.path.exists(f"/proc/{kernel_pid}"), 10, what="the dead kernel to be reaped")
    impostor = spawn_with_pid(kernel_pid)
    if impostor is None:
        pytest.skip(f"could not get process id {kernel_pid} back (a busy machine)")
    try:
        assert os.getpgid(impostor) == kernel_pid
        gw.rest.post(f"api/kernels/{kid}/restart", timeout=60)  # whatever it answers: the impostor must live on
        time.sleep(0.5)
        assert os.waitpid(impostor, os.WNOHANG) == (0, 0), "restarting the dead kernel signalled a reused process group"
        assert gw.rest.delete(f"api/kernels/{kid}", timeout=60).status_code in (204, 404)
        time.sleep(0.5)
        assert os.waitpid(impostor, os.WNOHANG) == (0, 0), "deleting the dead kernel signalled a reused process group"
        assert pid_alive(impostor)
    finally:
        try:
            os.kill(impostor, signal.SIGKILL)
            os.waitpid(impostor, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    assert gw.alive()
