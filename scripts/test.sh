#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing (scripts/setup.sh), builds the
# debug binary, runs the Swift unit tests, then the end-to-end tests (real ipykernel 7 and 6, real
# jupyter_server as a client, JupyterLab in headless Chromium) against the built gateway, and the container images
# (scripts/build-images.sh: built offline from the debug binary, run on the simulated cluster by tests/images and
# tests/cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
echo "== swift build"
swift build
echo "== swift test"
swift test
echo "== end-to-end tests (pytest: gateway, Kubernetes fakes, pod kernels, controller)"
swift build --product echo-kernel
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
