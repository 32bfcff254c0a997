#!/usr/bin/env bash
# Installs everything ElasticJupyter needs on a fresh Debian machine:
#   - system packages: libzmq3-dev, pkg-config (build), procps (tests); with --tests also Debian's
#     chromium + chromium-driver (the JupyterLab-in-a-browser tests), buildah and mmdebstrap (the container
#     images, built offline by scripts/build-images.sh)
#   - a Python venv at .venv with ipykernel, jupyter_server, JupyterLab, jupyter_client and test clients
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pkg-config --exists libzmq 2>/dev/null || need_apt+=(libzmq3-dev pkg-config)
command -v ps >/dev/null 2>&1 || need_apt+=(procps)
if [ "${1:-}" = "--tests" ]; then
  { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || need_apt+=(chromium chromium-driver)
  # the container images, built with no registry (scripts/build-images.sh)
  command -v buildah >/dev/null 2>&1 || need_apt+=(buildah)
  command -v mmdebstrap >/dev/null 2>&1 || need_apt+=(mmdebstrap)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

VENV=.venv
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.requirements.stamp"
if [ ! -f "$stamp" ] || ! cmp -s requirements-test.txt "$stamp"; then
  echo "setup: installing Python test requirements"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt "$stamp"
fi
# A second, older kernel (ipykernel 6.x) in its own venv: both must work.
VENV6=.venv-ipykernel6
if [ ! -x "$VENV6/bin/python" ]; then
  "$PY" -m venv "$VENV6"
fi
if [ ! -f "$VENV6/.stamp" ]; then
  "$VENV6/bin/pip" install -q --disable-pip-version-check "ipykernel>=6.29,<7"
  touch "$VENV6/.stamp"
fi
echo "setup: done"
