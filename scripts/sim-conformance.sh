#!/usr/bin/env bash
# Conformance of the gateway simulator with Microsoft's @microsoft/signalr JavaScript client:
# installs the pinned npm packages, builds and starts the simulator on 127.0.0.1 port 0, runs
# tools/signalr-conformance/conformance.mjs against it, stops it. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

(cd tools/signalr-conformance && npm ci --no-audit --no-fund --loglevel=error)

cargo build --quiet -p sim --example sim_server
target_dir=$(cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
server="$target_dir/debug/examples/sim_server"

out=$(mktemp)
"$server" 127.0.0.1:0 >"$out" &
pid=$!
cleanup() {
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
}
trap cleanup EXIT

# The simulator prints its base URL as the first stdout line; wait for it (30 s deadline).
url=""
for _ in $(seq 1 300); do
  url=$(head -n1 "$out" 2>/dev/null || true)
  if [[ "$url" == http://* ]]; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "sim-conformance: simulator exited early" >&2; exit 1; fi
  sleep 0.1
done
if [[ "$url" != http://* ]]; then echo "sim-conformance: simulator printed no URL" >&2; exit 1; fi
echo "sim-conformance: simulator at $url"

node tools/signalr-conformance/conformance.mjs "$url"
