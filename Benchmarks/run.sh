#!/usr/bin/env bash
# The side-by-side benchmark in one command (see Benchmarks/README.md):
#   Benchmarks/run.sh                    full run: release build, EG, direct floor (~10 min after the build)
#   Benchmarks/run.sh --quick --no-eg    smoke check on the debug build (CI-able; asserts correctness only)
# It installs what it needs (scripts/setup.sh for .venv, .venv-eg for Enterprise Gateway), builds
# elastic-jupyter and echo-kernel (skip with --no-build), then runs Benchmarks/run.py with the other arguments.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 no_eg=0 build="" no_build=0
args=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1; args+=("$a") ;;
    --no-eg) no_eg=1; args+=("$a") ;;
    --build=*) build="${a#--build=}"; args+=("$a") ;;
    --no-build) no_build=1 ;;
    *) args+=("$a") ;;
  esac
done
prev=""
for a in "$@"; do [ "$prev" = "--build" ] && build="$a"; prev="$a"; done
[ -n "$build" ] || { [ $quick = 1 ] && build=debug || build=release; }

bash scripts/setup.sh >/dev/null

if [ $no_eg = 0 ]; then
  VENV_EG=.venv-eg
  [ -x "$VENV_EG/bin/python" ] || python3 -m venv "$VENV_EG"
  stamp="$VENV_EG/.requirements.stamp"
  if [ ! -f "$stamp" ] || ! cmp -s Benchmarks/requirements-eg.txt "$stamp"; then
    echo "run.sh: installing Enterprise Gateway into $VENV_EG"
    "$VENV_EG/bin/pip" install -q --disable-pip-version-check -r Benchmarks/requirements-eg.txt
    cp Benchmarks/requirements-eg.txt "$stamp"
  fi
fi

if [ $no_build = 0 ]; then
  for product in elastic-jupyter echo-kernel; do
    if [ "$build" = release ]; then
      echo "run.sh: swift build -c release --product $product (slow the first time: ~12 min on 2 cores)"
      swift build -c release --product "$product" --scratch-path .build-release 2>&1 | tail -n 3
    else
      swift build --product "$product" 2>&1 | tail -n 1
    fi
  done
fi

exec .venv/bin/python Benchmarks/run.py "${args[@]}"
