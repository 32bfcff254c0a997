"""Container images for the kubelet double: a pod whose image is known runs *in* that image.

An image here is what ``scripts/build-images.sh --export DIR`` writes: the image's root file system (a directory)
and its OCI config (``User``, ``Env``, ``Entrypoint``, ``Cmd``, ``WorkingDir``); ``DIR/images.json`` maps image
names to them. ``load_images(DIR)`` reads that map, and ``FakeKubelet(images=...)`` / ``FakeCluster(images=...)``
use it: the container's process then runs chrooted into an overlay of the image's root file system (a fresh
writable layer per container start, read-only with ``readOnlyRootFilesystem``), with ``/proc``, ``/dev``, ``/sys``,
the pod's ``/etc/hosts``, its volumes and its service account files mounted into it, as the image's user unless
the pod says otherwise, with the image's environment, entrypoint, command and working directory, as a container
runtime does it. Images not in the map keep running as local commands (``command_rewrite``).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Image:
    """One exported image: its root file system and its OCI config."""

    name: str
    rootfs: Path
    config: dict = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            k, _, v = item.partition("=")
            out[k] = v
        return out

    @property
    def entrypoint(self) -> list[str]:
        return list(self.config.get("Entrypoint") or [])

    @property
    def cmd(self) -> list[str]:
        return list(self.config.get("Cmd") or [])

    @property
    def working_dir(self) -> str:
        return self.config.get("WorkingDir") or "/"

    def argv(self, command: list[str], args: list[str]) -> list[str]:
        """Kubernetes' rule: ``command`` replaces the entrypoint (and drops the image's cmd), ``args`` the cmd."""
        if command:
            return command + args
        return self.entrypoint + (args if args else self.cmd)

    def _table(self, name: str) -> list[list[str]]:
        try:
            text = resolve_in_root(self.rootfs, f"/etc/{name}").read_text()
        except OSError:
            return []
        return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]

    def user(self) -> tuple[int | None, int | None]:
        """The image's ``User`` as numbers (``uid``, ``uid:gid``, ``name``, ``name:group``); (None, None) if unset."""
        spec = (self.config.get("User") or "").strip()
        if not spec:
            return None, None
        user, _, group = spec.partition(":")
        uid = int(user) if user.isdigit() else next(
            (int(e[2]) for e in self._table("passwd") if len(e) > 3 and e[0] == user), None)
        if uid is None:
            raise ValueError(f'unable to find user {user}: no matching entries in passwd file')
        if group:
            gid = int(group) if group.isdigit() else next(
                (int(e[2]) for e in self._table("group") if len(e) > 2 and e[0] == group), None)
            if gid is None:
                raise ValueError(f'unable to find group {group}: no matching entries in group file')
        else:
            gid = self.primary_gid(uid)
        return uid, gid

    def primary_gid(self, uid: int) -> int:
        return next((int(e[3]) for e in self._table("passwd") if len(e) > 3 and e[2] == str(uid)), 0)

    def home(self, uid: int) -> str:
        return next((e[5] for e in self._table("passwd") if len(e) > 5 and e[2] == str(uid)), "/")


def load_images(directory: str | os.PathLike) -> dict[str, Image]:
    """The images ``scripts/build-images.sh --export DIR`` wrote to DIR (its ``images.json``)."""
    index = json.loads((Path(directory) / "images.json").read_text())
    return {name: Image(name, Path(e["rootfs"]), json.loads(Path(e["config"]).read_text()) or {})
            for name, e in index.items()}


def resolve_in_root(root: Path, path: str, _depth: int = 0) -> Path:
    """``path`` inside the image, symlinks followed as the container would see them (an absolute link is relative
    to the image's root, never to the host's): the host path under ``root``. Components that do not exist are
    kept as they are (they are created later, inside the container's own layer)."""
    root = Path(root)
    current = root
    parts = [p for p in path.split("/") if p not in ("", ".")]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if current != root:
                current = current.parent
            continue
        nxt = current / part
        if nxt.is_symlink():
            hops += 1
            if hops > 40:
                raise OSError(f"too many levels of symbolic links in {path}")
            target = os.readlink(nxt)
            if target.startswith("/"):
                current = root
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        current = nxt
    return current


# Runs on the host's Python, then chroots: it needs nothing from the image but the program it executes.
# argv: root cwd uid gid groups(comma list or "-") -- program args...
_LAUNCHER = """
import os, sys
root, cwd, uid, gid, groups = sys.argv[1:6]
argv = sys.argv[7:]
os.chroot(root)
os.chdir(cwd)
if gid != "-":
    os.setgroups([int(g) for g in groups.split(",") if g] if groups != "-" else [])
    os.setgid(int(gid))
if uid != "-":
    os.setuid(int(uid))
try:
    os.execvpe(argv[0], argv, os.environ)
except OSError as e:
    print(f'exec: "{argv[0]}": {e.strerror}', file=sys.stderr)
    sys.exit(127 if isinstance(e, FileNotFoundError) else 126)
"""


def start_script(image: Image, pod_dir: Path, hostname: str, hosts_file: Path,
                 binds: list[tuple[str, str, bool]], cwd: str, uid: int | None, gid: int | None,
                 groups: list[int], read_only_root: bool) -> list[str]:
    """The shell lines that, inside a fresh mount + UTS namespace, assemble the container's root file system and
    exec the container's process in it (the program and its arguments follow as "$@")."""
    upper, work, root = pod_dir / "container" / "upper", pod_dir / "container" / "work", pod_dir / "container" / "root"
    q = shlex.quote
    lines = ["set -e", "export CONTAINER_PATH=\"$PATH\"", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             f"hostname {q(hostname[:63])}",
             # a restarted container starts from the image again, as with a real runtime
             f"rm -rf {q(str(pod_dir / 'container'))}",
             f"mkdir -p {q(str(upper))} {q(str(work))} {q(str(root))}",
             f"mount -t overlay overlay -o lowerdir={q(str(image.rootfs))},upperdir={q(str(upper))},"
             f"workdir={q(str(work))} {q(str(root))}"]

    def target(path: str, is_dir: bool) -> str:
        # resolved in the image (its symlinks never lead out to the host), then made in the container's layer
        inner = resolve_in_root(image.rootfs, path).relative_to(image.rootfs)
        dest = root / inner
        if is_dir:
            lines.append(f"mkdir -p {q(str(dest))}")
        else:
            lines.append(f"mkdir -p {q(str(dest.parent))}; [ -e {q(str(dest))} ] || : > {q(str(dest))}")
        return q(str(dest))

    lines.append(f"mount -t proc proc {target('/proc', True)}")
    lines.append(f"mount --rbind /dev {target('/dev', True)}")
    lines.append(f"mount --rbind /sys {target('/sys', True)}")
    lines.append(f"mount --bind {q(str(hosts_file))} {target('/etc/hosts', False)}")
    if os.path.exists("/etc/resolv.conf"):
        lines.append(f"mount --bind /etc/resolv.conf {target('/etc/resolv.conf', False)}")
    for src, dst, ro in sorted(binds, key=lambda b: len(b[1])):
        dest = target(dst, os.path.isdir(src))
        lines.append(f"mount --bind {q(src)} {dest}")
        if ro:
            lines.append(f"mount -o remount,bind,ro {dest}")
    if read_only_root:
        lines.append(f"mount -o remount,ro {q(str(root))}")
    lines.append('export PATH="$CONTAINER_PATH"; unset CONTAINER_PATH')
    launch = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(root), cwd,
              "-" if uid is None else str(uid), "-" if gid is None and uid is None else str(gid or 0),
              ",".join(map(str, groups)) or "-", "--"]
    lines.append("exec " + " ".join(q(a) for a in launch) + ' "$@"')
    return lines
