#!/usr/bin/env bash
# Runs the gateway on the embedded default (kernels as local processes), from a fresh machine:
# installs what is missing (scripts/setup.sh: libzmq, a venv with ipykernel), builds, and starts
# `elastic-jupyter gateway` on 127.0.0.1:8888. Extra arguments go to the gateway (see --help).
# Without a token (--auth-token-file, EG_AUTH_TOKEN) the gateway generates one and prints the
# `jupyter lab --gateway-url=... --GatewayClient.auth_token=...` line to paste.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --product elastic-jupyter
export PATH="$PWD/.venv/bin:$PATH"
exec .build/debug/elastic-jupyter gateway "$@"
