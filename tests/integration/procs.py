"""Process management for the end-to-end tests: kernelspec trees, the gateway under test, jupyter_server.

The gateway under test is ElasticJupyter (``EJ_TEST_IMPL=ej``, the default; binary from ``EJ_BINARY`` or
``<repo>/.build/debug/elastic-jupyter``). With ``EJ_TEST_IMPL=eg`` the same suite drives Jupyter Enterprise
Gateway (``EJ_EG_JUPYTER``, default ``/tmp/eg-venv/bin/jupyter``) so that the tests themselves can be
checked against the reference implementation; tests marked ``ej_only`` describe deliberate differences
and are expected to fail there.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import requests

from helpers import GiveUp, Rest, free_port, wait_until

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
IMPL = os.environ.get("EJ_TEST_IMPL", "ej").lower()
EJ_BINARY = Path(os.environ.get("EJ_BINARY", REPO_ROOT / ".build" / "debug" / "elastic-jupyter"))
EG_JUPYTER = Path(os.environ.get("EJ_EG_JUPYTER", "/tmp/eg-venv/bin/jupyter"))
ECHO_KERNEL = Path(os.environ.get("EJ_ECHO_KERNEL") or next(
    (p for p in (EJ_BINARY.parent / "echo-kernel", REPO_ROOT / ".build" / "debug" / "echo-kernel") if p.exists()),
    REPO_ROOT / ".build" / "debug" / "echo-kernel"))
VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
VENV6_PY = REPO_ROOT / ".venv-ipykernel6" / "bin" / "python"
RUN_MARKER = f"ejitest-{os.getpid()}-{int(time.time())}"
NEVER_READY_SENTINEL = f"never_ready_sentinel_{RUN_MARKER}"
STARTUP_TIMEOUT = float(os.environ.get("EJ_TEST_STARTUP_TIMEOUT", "60"))

# Every process we started and have not stopped yet: the failure hook prints their log tails.
LIVE_PROCESSES: list["ManagedProcess"] = []


# --------------------------------------------------------------------------------------------
# kernelspecs
# --------------------------------------------------------------------------------------------


def tiny_png(width: int = 64, height: int = 64) -> bytes:
    """A valid (solid orange) RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xf3\x76\x21" * width for _ in range(height))
    ihdr = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


LOGO = tiny_png()


def _spec(python: Path, display: str, **extra) -> dict:
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display,
        "language": "python",
        # lets the test session find (and reap) any kernel process that outlives its gateway
        "env": {"EJ_ITEST_RUN": RUN_MARKER},
    }
    for k, v in extra.items():
        if k == "env":
            spec["env"] = {**spec["env"], **v}
        else:
            spec[k] = v
    return spec


def main_kernelspecs() -> dict[str, dict]:
    return {
        "python3": _spec(VENV_PY, "Python 3"),
        "python3_ipykernel6": _spec(VENV6_PY, "Python 3 (ipykernel 6)"),
        "message_interrupt": _spec(VENV_PY, "Python 3 (message interrupt)", interrupt_mode="message"),
        "authz": _spec(VENV_PY, "Authorization test", metadata={"process_proxy": {
            "class_name": "enterprise_gateway.services.processproxies.processproxy.LocalProcessProxy",
            "config": {"authorized_users": "bob,alice,bad_guy", "unauthorized_users": "bad_guy"},
        }}),
        "python3_env": _spec(VENV_PY, "Python 3 (spec env)", env={
            "SPEC_USER": "user-${KERNEL_USERNAME}",
            "SPEC_FIXED": "fixed-value",
            "KERNEL_OVERRIDE": "from-spec",
        }),
    }


def echo_kernelspec() -> dict:
    """The repository's echo-kernel (``swift build --product echo-kernel``)."""
    return {"argv": [str(ECHO_KERNEL), "-f", "{connection_file}"], "display_name": "Echo", "language": "echo",
            "interrupt_mode": "message", "env": {"EJ_ITEST_RUN": RUN_MARKER}}


def extra_kernelspecs() -> dict[str, dict]:
    return {
        # starts a process that never opens its ports: the launch must time out and clean up
        "never_ready": {
            "argv": [str(VENV_PY), "-c", f"import time; time.sleep(600)  # {NEVER_READY_SENTINEL}", "{connection_file}"],
            "display_name": "Never ready",
            "language": "python",
            "env": {"EJ_ITEST_RUN": RUN_MARKER},
        },
    }


def write_kernelspecs(kernels_dir: Path, specs: dict[str, dict]) -> Path:
    """Write ``kernels_dir/<name>/kernel.json`` (+ logo). The directory is named ``kernels`` so that
    Enterprise Gateway can find it through ``JUPYTER_PATH=<parent>``."""
    assert kernels_dir.name == "kernels"
    for name, spec in specs.items():
        d = kernels_dir / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "kernel.json").write_text(json.dumps(spec, indent=1))
        (d / "logo-64x64.png").write_bytes(LOGO)
    return kernels_dir


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def binary_knows(flag: str, binary: Path = EJ_BINARY) -> bool:
    """Whether ``elastic-jupyter gateway --help`` lists ``flag`` (so that the suite can still start binaries
    from before the flag existed, e.g. to record which tests an older commit fails)."""
    try:
        out = subprocess.run([str(binary), "gateway", "--help"], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return flag.encode() in out.stdout + out.stderr


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test runner's environment without any gateway/jupyter configuration, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EG_", "EJ_", "KG_", "JUPYTER_", "KERNEL_", "JPY_"))}
    env.update(extra or {})
    return env


class ManagedProcess:
    name = "process"

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def _spawn(self, cmd: list[str], env: dict[str, str], cwd: Path | None = None):
        self.cmd = cmd
        self.log_file = open(self.log_path, "ab")
        self.log_file.write(("$ " + " ".join(cmd) + "\n").encode())
        self.log_file.flush()
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        LIVE_PROCESSES.append(self)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            data = self.log_path.read_bytes().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join(data[-lines:])

    def stop(self, grace: float = 15):
        """SIGTERM the process; SIGKILL its whole process group if it does not exit in time."""
        if self in LIVE_PROCESSES:
            LIVE_PROCESSES.remove(self)
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()


@dataclass
class GatewayConfig:
    base_url: str = "/"
    auth_token: str | None = None
    auth_token_via_env: bool = False
    auth_token_file: Path | None = None  # --auth-token-file (the test still needs auth_token to talk to it)
    # None: automatic, i.e. --allow-unauthenticated when neither a token nor a token file is given (the suite's
    # gateways are open on purpose); False: the default configuration (the gateway generates a token and prints it;
    # Gateway.start() then adopts it); True: always pass the flag.
    allow_unauthenticated: bool | None = None
    kernelspec_dirs: list[Path] = field(default_factory=list)
    allowed_kernels: list[str] | None = None
    default_kernel: str | None = None
    list_kernels: bool = True
    client_envs: list[str] | None = None
    inherited_envs: list[str] | None = None
    root_dir: Path | None = None
    kernel_launch_timeout: float | None = None
    auto_restart: bool = True
    allow_origin: str | None = None
    certfile: Path | None = None
    keyfile: Path | None = None
    client_ca: Path | None = None  # --client-ca: clients must present a certificate signed by it
    client_cert: tuple[Path, Path] | None = None  # (cert, key) the harness presents to such a gateway
    client_queue_size: int | None = None
    offline_buffer_size: int | None = None
    max_message_size: int | None = None
    max_body_size: int | None = None
    log_level: str = os.environ.get("EJ_TEST_LOG_LEVEL", "info")
    env: dict[str, str] = field(default_factory=dict)  # extra environment of the gateway process
    unset_env: list[str] = field(default_factory=list)  # variables removed from the gateway's environment
    extra_args: list[str] = field(default_factory=list)
    # raw mode (configuration tests): run `elastic-jupyter gateway <extra_args>` with exactly ``env``;
    # ``port`` (and base_url / auth_token above) only tell the test where to find the gateway.
    raw: bool = False
    port: int | None = None


class Gateway(ManagedProcess):
    """The gateway under test, started on a free loopback port."""

    name = "gateway"

    def __init__(self, config: GatewayConfig, log_dir: Path, label: str = "gw"):
        super().__init__(log_dir / f"{label}-{free_port()}.log")
        self.config = config
        self.impl = IMPL
        self.host = "127.0.0.1"
        self.port = config.port or free_port()
        self.tls = config.certfile is not None
        self.base_url = config.base_url if config.base_url.endswith("/") else config.base_url + "/"
        self.http_url = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"
        self.rest = Rest(self.http_url, self.base_url, config.auth_token, verify=not self.tls)
        if config.client_cert:
            self.rest.session.cert = tuple(str(p) for p in config.client_cert)

    # -- command lines --------------------------------------------------------------------

    def _ej_command(self) -> tuple[list[str], dict[str, str]]:
        c = self.config
        if not EJ_BINARY.exists():
            raise RuntimeError(f"gateway binary not found: {EJ_BINARY} (build it with `swift build`, or set EJ_BINARY)")
        env = clean_env(c.env)
        for name in c.unset_env:
            env.pop(name, None)
        if c.raw:
            return [str(EJ_BINARY), "gateway", *c.extra_args], env
        cmd = [str(EJ_BINARY), "gateway", "--ip", self.host, "--port", str(self.port), "--log-level", c.log_level]
        if c.base_url != "/":
            cmd += ["--base-url", c.base_url]
        if c.auth_token_file:
            cmd += ["--auth-token-file", str(c.auth_token_file)]
        elif c.auth_token:
            if c.auth_token_via_env:
                env["EG_AUTH_TOKEN"] = c.auth_token
            else:
                cmd += ["--auth-token", c.auth_token]
        if self.open_on_purpose and binary_knows("--allow-unauthenticated"):
            cmd.append("--allow-unauthenticated")
        for d in c.kernelspec_dirs:
            cmd += ["--kernelspecs-dir", str(d)]
        if c.allowed_kernels is not None:
            cmd += ["--allowed-kernels", ",".join(c.allowed_kernels)]
        if c.default_kernel:
            cmd += ["--default-kernel", c.default_kernel]
        if not c.list_kernels:
            cmd += ["--no-list-kernels"]
        if c.client_envs:
            cmd += ["--client-envs", ",".join(c.client_envs)]
        if c.inherited_envs:
            cmd += ["--inherited-envs", ",".join(c.inherited_envs)]
        if c.root_dir:
            cmd += ["--root-dir", str(c.root_dir)]
        if c.kernel_launch_timeout is not None:
            cmd += ["--kernel-launch-timeout", str(c.kernel_launch_timeout)]
        if not c.auto_restart:
            cmd += ["--no-auto-restart"]
        if c.allow_origin:
            cmd += ["--allow-origin", c.allow_origin]
        if c.certfile:
            cmd += ["--certfile", str(c.certfile), "--keyfile", str(c.keyfile)]
        if c.client_ca:
            cmd += ["--client-ca", str(c.client_ca)]
        for flag, value in (("--client-queue-size", c.client_queue_size), ("--offline-buffer-size", c.offline_buffer_size),
                            ("--max-message-size", c.max_message_size), ("--max-body-size", c.max_body_size)):
            if value is not None:
                cmd += [flag, str(value)]
        return cmd + c.extra_args, env

    def _eg_command(self) -> tuple[list[str], dict[str, str]]:
        """Enterprise Gateway equivalent (only the options EG has; the rest is silently not applied)."""
        c = self.config
        data_dir = self.log_path.parent / f"eg-data-{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = clean_env(c.env)
        env.update({
            "JUPYTER_PATH": ":".join(str(Path(d).parent) for d in c.kernelspec_dirs),
            "JUPYTER_DATA_DIR": str(data_dir),
            "JUPYTER_CONFIG_DIR": str(data_dir / "config"),
            "JUPYTER_RUNTIME_DIR": str(data_dir / "runtime"),
            # EG refuses user "root" by default, and kernels without KERNEL_USERNAME run as the OS user
            "EG_UNAUTHORIZED_USERS": "itest_nobody",
        })
        cmd = [str(EG_JUPYTER), "enterprisegateway", f"--ip={self.host}", f"--port={self.port}",
               "--EnterpriseGatewayApp.port_retries=0", f"--log-level={c.log_level.upper()}",
               "--KernelSpecManager.ensure_native_kernel=False",
               f"--EnterpriseGatewayApp.list_kernels={c.list_kernels}",
               f"--KernelManager.autorestart={c.auto_restart}"]
        if c.base_url != "/":
            cmd.append(f"--EnterpriseGatewayApp.base_url={c.base_url}")
        if c.auth_token:
            env["EG_AUTH_TOKEN"] = c.auth_token
        if c.allowed_kernels is not None:
            cmd.append("--KernelSpecManager.whitelist=" + json.dumps(c.allowed_kernels))
        if c.default_kernel:
            env["EG_DEFAULT_KERNEL_NAME"] = c.default_kernel
        if c.client_envs:
            env["EG_CLIENT_ENVS"] = ",".join(c.client_envs)
        if c.inherited_envs:
            env["EG_INHERITED_ENVS"] = ",".join(c.inherited_envs)
        if c.root_dir:
            cmd.append(f"--RemoteMappingKernelManager.root_dir={c.root_dir}")
        if c.kernel_launch_timeout is not None:
            env["EG_KERNEL_LAUNCH_TIMEOUT"] = str(c.kernel_launch_timeout)
        if c.allow_origin:
            cmd.append(f"--EnterpriseGatewayApp.allow_origin={c.allow_origin}")
        if c.certfile:
            cmd += [f"--EnterpriseGatewayApp.certfile={c.certfile}", f"--EnterpriseGatewayApp.keyfile={c.keyfile}"]
        return cmd, env

    @property
    def open_on_purpose(self) -> bool:
        """Whether this gateway is run without authentication on purpose (``--allow-unauthenticated``)."""
        c = self.config
        if c.allow_unauthenticated is not None:
            return c.allow_unauthenticated
        return not (c.auth_token or c.auth_token_file)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> "Gateway":
        cmd, env = self._ej_command() if self.impl == "ej" else self._eg_command()
        self._spawn(cmd, env, cwd=self.config.root_dir)
        try:
            wait_until(self._ready, STARTUP_TIMEOUT, 0.1, what=f"gateway on port {self.port} to be ready")
        except (AssertionError, GiveUp):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"gateway did not become ready; log tail:\n{tail}") from None
        if self.impl == "ej" and not self.config.raw and not self.open_on_purpose and not self.config.auth_token:
            token = self.printed_token(timeout=5)
            if token:  # the default configuration: talk to it with the token it generated
                self.config.auth_token = token
                self.rest.token = token
        return self

    def printed_token(self, timeout: float = 5) -> str | None:
        """The token of the ``jupyter lab --gateway-url=... --GatewayClient.auth_token=<token>`` line the gateway
        prints when it generated one (None if no such line naming this gateway's URL appears within ``timeout``)."""
        pattern = re.compile(r"jupyter lab --gateway-url=(\S+) --GatewayClient\.auth_token=(\S+)")
        deadline = time.monotonic() + timeout
        while True:
            try:
                text = self.log_path.read_text(errors="replace")
            except OSError:
                text = ""
            for m in pattern.finditer(text):
                if m.group(1).rstrip("/").endswith(f":{self.port}") or f":{self.port}/" in m.group(1):
                    return m.group(2).strip().strip("'\"")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)

    def _ready(self) -> bool:
        if not self.alive():
            raise GiveUp(f"gateway exited with code {self.proc.returncode}")
        paths = ["readyz", self.base_url + "readyz"] if self.impl == "ej" else [self.base_url + "api"]
        for p in paths:
            try:
                r = requests.get(f"{self.http_url}/{p.lstrip('/')}", timeout=2, verify=False,
                                 headers={"Authorization": f"token {self.config.auth_token}"} if self.config.auth_token else {},
                                 cert=tuple(str(x) for x in self.config.client_cert) if self.config.client_cert else None)
            except requests.RequestException:
                return False
            if r.status_code == 200:
                return True
        return False

    def ws_url(self, kernel_id: str) -> str:
        from helpers import ws_url

        return ws_url(self.http_url, self.base_url, kernel_id)


class JupyterServer(ManagedProcess):
    """A real jupyter_server 2.x in gateway mode, pointed at a gateway."""

    name = "jupyter_server"

    def __init__(self, gateway: Gateway, root_dir: Path, log_dir: Path, token: str = "js-token",
                 env: dict[str, str] | None = None):
        port = free_port()
        super().__init__(log_dir / f"jupyter-server-{port}.log")
        self.gateway, self.root_dir, self.token, self.port = gateway, root_dir, token, port
        self.extra_env = dict(env or {})  # e.g. KERNEL_USERNAME, which GatewayClient forwards to the gateway
        self.http_url = f"http://127.0.0.1:{port}"
        self.rest = Rest(self.http_url, "/", token)

    def start(self) -> "JupyterServer":
        home = self.log_path.parent / f"js-home-{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        env = clean_env({
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            **self.extra_env,
        })
        cmd = [str(REPO_ROOT / ".venv" / "bin" / "jupyter"), "server",
               f"--gateway-url={self.gateway.http_url}{self.gateway.base_url.rstrip('/')}",
               "--GatewayClient.request_timeout=60", "--GatewayClient.connect_timeout=30",
               f"--IdentityProvider.token={self.token}", "--ServerApp.allow_root=True", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={self.root_dir}", "--no-browser",
               "--ServerApp.open_browser=False", "--ServerApp.log_level=DEBUG"]
        if self.gateway.config.auth_token:
            cmd.append(f"--GatewayClient.auth_token={self.gateway.config.auth_token}")
        self._spawn(cmd, env, cwd=self.root_dir)

        def ready():
            if not self.alive():
                raise GiveUp(f"jupyter_server exited with code {self.proc.returncode}")
            return self.rest.get("api/status", timeout=2).status_code == 200

        try:
            wait_until(ready, STARTUP_TIMEOUT, 0.2, what="jupyter_server to be ready")
        except (AssertionError, GiveUp):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"jupyter_server did not become ready; log tail:\n{tail}") from None
        return self

    def ws_url(self, kernel_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels"


def reap_marked_processes() -> list[int]:
    """Kill every process carrying this run's marker in its environment (kernels that outlived a gateway)."""
    killed = []
    needle = f"EJ_ITEST_RUN={RUN_MARKER}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
        except (OSError, ProcessLookupError):
            continue
    return killed


def processes_with_cmdline(needle: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().decode("utf-8", "replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            pids.append(int(entry))
    return pids


if __name__ == "__main__":  # pragma: no cover - manual smoke: python procs.py
    print(IMPL, EJ_BINARY, file=sys.stderr)
