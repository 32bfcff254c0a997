"""The images as the suite gets them: scripts/build-images.sh builds them offline (mmdebstrap + buildah) from the
debug binary the suite already built, and exports their root file systems for the simulated cluster.

Built once per test process; the script's own caches (base tarball, wheels, buildah's layers, unchanged exports)
make a later run quick. Work dir: EJ_IMAGES_DIR, default <repo>/.build-images.
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from pathlib import Path

from fakekube.images import Image, load_images

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("EJ_BINARY", REPO / ".build" / "debug" / "elastic-jupyter"))
WORK = Path(os.environ.get("EJ_IMAGES_DIR", REPO / ".build-images"))
PRODUCT_IMAGE = "ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0"
KERNEL_IMAGE = "ghcr.io/elastic-jupyter/python-kernel:0.1.0"


@functools.cache
def built_images() -> dict[str, Image]:
    assert BINARY.exists(), f"{BINARY} missing: swift build --product elastic-jupyter"
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "build-images.log"
    t0 = time.monotonic()
    with open(log, "wb") as f:
        r = subprocess.run(["bash", str(REPO / "scripts" / "build-images.sh"), "--binary", str(BINARY),
                            "--export", str(WORK / "rootfs")], stdout=f, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=1800, env=dict(os.environ, EJ_IMAGES_DIR=str(WORK)))
    text = log.read_text(errors="replace")
    assert r.returncode == 0, f"scripts/build-images.sh failed ({r.returncode}):\n" + "\n".join(text.splitlines()[-60:])
    print(f"\nbuild-images.sh: {time.monotonic() - t0:.0f}s\n" + "\n".join(
        line for line in text.splitlines() if line.startswith("build-images:")))
    images = load_images(WORK / "rootfs")
    assert {PRODUCT_IMAGE, KERNEL_IMAGE} <= set(images), sorted(images)
    return images
