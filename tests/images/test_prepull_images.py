"""Issue 19 item 1 on the built images: what the gateway's image pre-pulling pods run.

The product image carries the static no-op (`/usr/local/libexec/elastic-jupyter/noop`, built from images/noop/noop.c
by scripts/build-images.sh as by the Dockerfile) and `elastic-jupyter pause`. Checked, each as the pods' user
(65532) chrooted into the image's root file system: the install-noop init container's `cp` in the product image,
the no-op run from inside the kernel image's root (a tmpfs in a private mount namespace stands in for the pod's
emptyDir, so the exported root is not changed) without using its shell, and `pause` ending with 0 on SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from imagekit import KERNEL_IMAGE, PRODUCT_IMAGE, built_images

NOOP = "/usr/local/libexec/elastic-jupyter/noop"
USER = "--userspec=65532:65532"


@pytest.fixture(scope="module")
def images():
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (chroot, mount namespaces)")
    return built_images()


def test_the_product_image_installs_the_noop_with_its_own_cp(images, tmp_path):
    root = images[PRODUCT_IMAGE].rootfs
    noop = root / NOOP.lstrip("/")
    assert noop.is_file() and os.access(noop, os.X_OK)
    assert noop.stat().st_size < 16384, "a static program without libc"
    assert b"\x7fELF" == noop.read_bytes()[:4] and b"ld-linux" not in noop.read_bytes(), "no program interpreter"
    target = tmp_path / "prepull"
    target.mkdir()
    os.chmod(target, 0o777)  # an emptyDir is 0777
    # the install-noop init container: `cp <noop> <emptyDir>/noop` in the product image (here the emptyDir is bound
    # over the image's /tmp in a private mount namespace: the exported root gets no new mount point)
    done = subprocess.run(["unshare", "--mount", "sh", "-c", f'mount --bind "$2" "$1/tmp" && exec chroot {USER} "$1" cp {NOOP} /tmp/noop',
                           "sh", str(root), str(target)], capture_output=True, timeout=60)
    assert done.returncode == 0, done
    assert (target / "noop").read_bytes() == noop.read_bytes() and os.access(target / "noop", os.X_OK)


def test_the_noop_runs_from_the_kernel_image_root_without_its_shell(images, tmp_path):
    noop = images[PRODUCT_IMAGE].rootfs / NOOP.lstrip("/")
    root = images[KERNEL_IMAGE].rootfs
    assert (root / "tmp").is_dir()
    script = f'mount -t tmpfs tmpfs "$1/tmp" && cp "$2" "$1/tmp/noop" && chmod 0755 "$1/tmp/noop" && ' \
             f'exec chroot {USER} "$1" /tmp/noop'
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(root), str(noop)],
                          capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b"", done
    assert not (root / "tmp" / "noop").exists(), "the exported root is untouched"


def test_pause_waits_for_sigterm_and_exits_0(images):
    root = images[PRODUCT_IMAGE].rootfs
    # /proc as in any container (Swift reads its arguments from /proc/self/cmdline)
    p = subprocess.Popen(["unshare", "--mount", "sh", "-c",
                          f'mount -t proc proc "$1/proc" && exec chroot {USER} "$1" /usr/local/bin/elastic-jupyter pause',
                          "sh", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)
        assert p.poll() is None, p.communicate(timeout=5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
