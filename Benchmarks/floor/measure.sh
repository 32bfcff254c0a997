#!/usr/bin/env bash
# Builds the minimal Hummingbird server (release) and prints its idle memory: VmRSS, RssAnon, RssFile and
# the largest file-backed mappings, 1 s after start and after one HTTP request. Needs only the Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release 2>&1 | tail -n 1
bin="$(swift build -c release --show-bin-path)/HelloServer"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" "$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 1
echo "HelloServer (Hummingbird + HummingbirdWebSocket, release), idle after one request:"
grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$pid/status"
echo "largest file-backed mappings (Rss, KiB):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{file=$6} /^Rss:/{if(file!="") rss[file]+=$2} END{for(f in rss) printf "%8d  %s\n", rss[f], f}' \
  "/proc/$pid/smaps" | sort -rn | head -n 8
