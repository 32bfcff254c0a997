#!/usr/bin/env bash
# Builds the two container images with no container registry: the product image (Dockerfile:
# ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0, gateway + controller) and the Python kernel image
# (images/kernel/Dockerfile: ghcr.io/elastic-jupyter/python-kernel:0.1.0).
#
#   scripts/build-images.sh --binary .build/debug/elastic-jupyter [--export DIR]
#
# How, without a registry:
#   1. The base image both Dockerfiles start FROM (docker.io/library/debian:bookworm-slim) is made here from
#      Debian packages: mmdebstrap (variant minbase, no docs, man pages or locales) writes a root file system
#      tarball, cached in the work dir, and buildah tags it with that name.
#   2. buildah (`bud --isolation chroot --storage-driver vfs --pull=never`, storage in the work dir)
#      builds both Dockerfiles unchanged. The product image gets the binary given with --binary through
#      `--build-context binary=DIR`, so its Swift builder stage never runs (no release build, no Swift image);
#      a binary linked against the shared Swift runtime (a debug build) brings those libraries along. The kernel
#      image gets wheels that pip downloads here through `--build-context wheels=DIR` (cached in the work dir),
#      so the build itself reaches neither PyPI nor a registry; its RUN steps install Debian packages.
#   3. With --export DIR, each image's root file system and its config (user, env, entrypoint, working dir) are
#      written to DIR/<image>/rootfs and DIR/<image>/config.json, and DIR/images.json maps the image names to
#      them: what the simulated cluster (tests/fakekube) runs for pods naming these images.
# Re-runs reuse the base tarball, the wheels, images whose inputs did not change and unchanged exports.
#
# Needs root (as the simulated cluster does), buildah and mmdebstrap (scripts/setup.sh --tests installs them), a
# Debian mirror (DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR) and PyPI for the wheels (pip's own configuration).
# Work dir: EJ_IMAGES_DIR, default .build-images (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

PRODUCT_IMAGE=ghcr.io/elastic-jupyter/elastic-jupyter:0.1.0
KERNEL_IMAGE=ghcr.io/elastic-jupyter/python-kernel:0.1.0
BASE_IMAGE=docker.io/library/debian:bookworm-slim
SUITE=bookworm
KERNEL_PYTHON=3.11 # bookworm's python3: the version the kernel image's wheels are for
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
WORK=${EJ_IMAGES_DIR:-$PWD/.build-images}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
BINARY=""
EXPORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --export) EXPORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$BINARY" ]; then
  echo "build-images: --binary PATH is required (without it the Dockerfile's builder stage needs a Swift image" \
       "from a registry: use docker build for that)" >&2
  exit 2
fi
[ -x "$BINARY" ] || { echo "build-images: $BINARY is not an executable" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "build-images: needs root (buildah's chroot isolation, mmdebstrap)" >&2; exit 2; }
for tool in buildah mmdebstrap; do
  command -v "$tool" > /dev/null || { echo "build-images: $tool missing: run scripts/setup.sh --tests" >&2; exit 2; }
done

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
bh() { buildah --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs "$@"; }
t0=$(date +%s)
bh rm --all > /dev/null 2>&1 || true # working containers an interrupted run left behind
step() { echo "build-images: [$(( $(date +%s) - t0 ))s] $*"; }

# ---------------------------------------------------------------- 1. the base image, from Debian packages
base_tar="$WORK/base/debian-$SUITE-slim.tar"
mm=(mmdebstrap --quiet --variant=minbase --format=tar
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --aptopt='Acquire::Languages "none"'
    "$SUITE" "$base_tar.tmp"
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main")
recipe=$(printf '%s\n' "${mm[@]}" | sed "s#$base_tar.tmp##" | sha256sum | cut -c1-16)
if [ ! -f "$base_tar" ] || [ "$(cat "$base_tar.recipe" 2>/dev/null)" != "$recipe" ]; then
  step "mmdebstrap: $SUITE minbase root file system"
  mkdir -p "$WORK/base"
  rm -f "$base_tar" "$base_tar.tmp"
  "${mm[@]}"
  mv "$base_tar.tmp" "$base_tar"
  echo "$recipe" > "$base_tar.recipe"
fi
tar_id=$(stat -c '%s-%Y' "$base_tar")-$recipe
have=$(bh inspect --type image --format '{{index .OCIv1.Config.Labels "org.elastic-jupyter.base"}}' "$BASE_IMAGE" \
       2>/dev/null || true)
if [ "$have" != "$tar_id" ]; then
  step "tagging the root file system as $BASE_IMAGE"
  ctr=$(bh from --quiet scratch)
  bh add --quiet "$ctr" "$base_tar" /
  bh config --label "org.elastic-jupyter.base=$tar_id" --cmd '["bash"]' \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  bh commit --quiet --rm "$ctr" "$BASE_IMAGE" > /dev/null
fi

# Builds unless the image exists with the same inputs (a label holds their digest). No --layers: with vfs every
# cached layer is a full copy of the file system, which costs more than it saves on a fresh machine.
inputs_of() { # files and directories -> one digest of their names and contents
  find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-32
}
bud() { # image digest bud-arguments...
  local image=$1 digest=$2
  shift 2
  local have
  have=$(bh inspect --type image --format '{{index .OCIv1.Config.Labels "org.elastic-jupyter.inputs"}}' "$image" \
         2>/dev/null || true)
  if [ "$have" = "$digest" ]; then
    step "$image is up to date"
    return
  fi
  bh bud --isolation chroot --pull=never --quiet --label "org.elastic-jupyter.inputs=$digest" -t "$image" "$@" \
    > /dev/null
  bh rmi --prune > /dev/null 2>&1 || true # the previous build's image, now untagged
}
base_id=$(bh inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE")

# ---------------------------------------------------------------- 2a. the product image, with the given binary
step "product image $PRODUCT_IMAGE from $BINARY"
ctx="$WORK/binary-context"
rm -rf "$ctx"
install -D -m 0755 "$BINARY" "$ctx/usr/local/bin/elastic-jupyter"
# the static no-op program of the image pre-pulling pods (images/noop/noop.c), for this machine's architecture
# (that of the binary) with the Swift toolchain's clang, as the Dockerfile's builder stage does
mkdir -p "$ctx/usr/local/libexec/elastic-jupyter"
"${CLANG:-clang}" -static -nostdlib -ffreestanding -fno-stack-protector -O2 \
  -o "$ctx/usr/local/libexec/elastic-jupyter/noop" images/noop/noop.c
# a binary linked against the shared Swift runtime (a debug build): the toolchain's libraries it loads, i.e. those
# outside the system's library directories, go into the image with an ld.so.conf.d entry (the Dockerfile runs
# ldconfig); a release build (--static-swift-stdlib) has none
libs=$(ldd "$BINARY" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | grep -v -E '^/(usr/)?lib(32|64|x32)?/' || true)
if [ -n "$libs" ]; then
  mkdir -p "$ctx/usr/local/lib/swift/linux" "$ctx/etc/ld.so.conf.d"
  for lib in $libs; do cp -L "$lib" "$ctx/usr/local/lib/swift/linux/"; done
  echo /usr/local/lib/swift/linux > "$ctx/etc/ld.so.conf.d/elastic-jupyter-swift.conf"
fi
bud "$PRODUCT_IMAGE" "$base_id-$(inputs_of Dockerfile .dockerignore kernelspecs "$ctx")" \
  --build-context "binary=$ctx" -f Dockerfile .

# ---------------------------------------------------------------- 2b. the kernel image, with local wheels
step "kernel image $KERNEL_IMAGE"
wheels="$WORK/wheels"
req=images/kernel/requirements.txt
if ! cmp -s "$req" "$wheels.stamp"; then
  rm -rf "$wheels"
  # manylinux wheels for bookworm's CPython whatever Python runs pip here
  plats=()
  for minor in 17 24 26 27 28 31 34 36; do plats+=(--platform "manylinux_2_${minor}_x86_64"); done
  "${PYTHON:-python3}" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version "$KERNEL_PYTHON" --implementation cp --abi "cp${KERNEL_PYTHON/./}" --abi abi3 --abi none \
    "${plats[@]}" --platform manylinux2014_x86_64 --platform any --dest "$wheels" -r "$req"
  cp "$req" "$wheels.stamp"
fi
bud "$KERNEL_IMAGE" "$base_id-$(inputs_of images/kernel "$wheels")" \
  --build-context "wheels=$wheels" -f images/kernel/Dockerfile images/kernel

# ---------------------------------------------------------------- 3. root file systems for the simulated cluster
if [ -n "$EXPORT" ]; then
  mkdir -p "$EXPORT"
  EXPORT=$(cd "$EXPORT" && pwd)
  index="{"
  for image in "$PRODUCT_IMAGE" "$KERNEL_IMAGE"; do
    dir="$EXPORT/$(printf %s "$image" | tr '/:@' '___')"
    id=$(bh inspect --type image --format '{{.FromImageID}}' "$image")
    if [ "$(cat "$dir/image-id" 2>/dev/null)" != "$id" ]; then
      step "exporting $image to $dir"
      rm -rf "$dir" "$dir.tmp"
      mkdir -p "$dir.tmp"
      ctr=$(bh from --quiet --pull=never "$image")
      mnt=$(bh mount "$ctr")
      [ -n "$mnt" ] && [ -d "$mnt/usr" ] || { echo "build-images: cannot mount $image ($mnt)" >&2; exit 1; }
      # hard links where possible (the same file system): the container's copy goes away right after
      cp -al "$mnt/." "$dir.tmp/rootfs" 2> /dev/null || { rm -rf "$dir.tmp/rootfs"; cp -a "$mnt/." "$dir.tmp/rootfs"; }
      bh inspect --type image "$image" | python3 -c 'import json, sys; json.dump(json.load(sys.stdin)["OCIv1"]["config"], sys.stdout, indent=1)' > "$dir.tmp/config.json"
      bh umount "$ctr" > /dev/null
      bh rm "$ctr" > /dev/null
      echo "$id" > "$dir.tmp/image-id"
      mv "$dir.tmp" "$dir"
    fi
    index+="\"$image\": {\"rootfs\": \"$dir/rootfs\", \"config\": \"$dir/config.json\", \"id\": \"$id\"}, "
  done
  printf '%s}\n' "${index%, }" > "$EXPORT/images.json"
fi
step "done: $PRODUCT_IMAGE, $KERNEL_IMAGE (buildah --root $WORK/storage --storage-driver vfs images)"
