#!/usr/bin/env bash
# Screenshots of `riskguard trader` for the README (docs/screenshots/*.png), taken from the real terminal:
# the simulator and the daemon as processes, a scripted trader over the simulator's REST API, the UI in a
# detached tmux session of 100x30, each tab captured with its colours (`capture-pane -e`), turned into HTML
# by aha and into PNG by headless chromium. Not run in CI. Needs tmux, aha, chromium and curl
# (apt-get install -y tmux aha chromium curl).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/screenshots
mkdir -p "$out"
for tool in tmux aha chromium curl; do
  command -v "$tool" >/dev/null || { echo "screenshots.sh needs $tool" >&2; exit 2; }
done
cargo build -q -p riskguard
bin=$PWD/target/debug/riskguard
work=$(mktemp -d)
sock="rg-shots-$$"
pids=()
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Poll a condition (a command) until it holds, for at most 20 s.
until_ok() {
  local what=$1; shift
  for _ in $(seq 200); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2; exit 1
}

"$bin" sim --listen 127.0.0.1:0 >"$work/sim.out" & pids+=($!)
until_ok "the simulator" grep -q http "$work/sim.out"
base=$(head -1 "$work/sim.out")

mkdir -p "$work/config" "$work/data"
reset=$(TZ=America/Chicago date -d '+7 hours' +%H:%M)
cat >"$work/config/risk_config.yaml" <<YAML
global:
  reset_time: "$reset"
  timezone: "America/Chicago"
  subtract_fees: false
rules:
  daily_realized_loss:
    enabled: true
    loss_limit: 300.00
    action: close_all_and_lockout
    lockout_until: daily_reset
    warn_at: []
  max_contracts:
    enabled: true
    limit: 5
    action: close_all
  no_stop_loss_grace:
    enabled: true
    grace_period_seconds: 600
YAML
cat >"$work/config/accounts.yaml" <<YAML
gateway:
  api_url: "$base"
  realtime_url: "$base"
logins:
  - name: main
    user_name_env: RG_SHOTS_USER
    api_key_env: RG_SHOTS_KEY
accounts:
  - id: 7001
    login: main
YAML
RG_SHOTS_USER=demo RG_SHOTS_KEY=demo NO_COLOR=1 RUST_LOG=info \
  "$bin" run --config-dir "$work/config" --data-dir "$work/data" 2>"$work/run.log" >/dev/null & pids+=($!)
until_ok "the daemon" grep -q "riskguard is enforcing" "$work/run.log"

post() { curl -sf -X POST "$base$1" -H 'content-type: application/json' ${token:+-H "authorization: Bearer $token"} -d "$2"; }
token=
token=$(post /api/Auth/loginKey '{"userName":"demo","apiKey":"demo"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
price() { post /sim/price "{\"contractId\":\"$1\",\"lastPrice\":$2}" >/dev/null; }
market() { post /api/Order/place "{\"accountId\":7001,\"contractId\":\"$1\",\"type\":2,\"side\":$2,\"size\":$3}" >/dev/null; }

tmux -L "$sock" -f /dev/null new-session -d -s tui -x 100 -y 30 "$bin trader --data-dir $work/data"
screen() { tmux -L "$sock" capture-pane -p -t tui; }
shows() { screen | grep -qF -- "$1"; }
key() { tmux -L "$sock" send-keys -t tui "$1"; }

# One tab as a PNG: ANSI -> HTML -> PNG.
shot() {
  local name=$1
  tmux -L "$sock" capture-pane -e -p -t tui >"$work/$name.ansi"
  aha --black --title "riskguard trader" <"$work/$name.ansi" \
    | sed 's#</head>#<style>body{margin:8px} pre{font-family:"DejaVu Sans Mono",monospace;font-size:14px;line-height:1.25}</style></head>#' \
    >"$work/$name.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=880,560 \
    --screenshot="$PWD/$out/$name.png" "file://$work/$name.html" >/dev/null 2>&1
  echo "$out/$name.png"
}

until_ok "the screen" shows "Account 7001"
price CON.F.US.MES.Z25 6000
price CON.F.US.MNQ.Z25 20000
market CON.F.US.MES.Z25 0 2
market CON.F.US.MNQ.Z25 0 1
price CON.F.US.MES.Z25 5990
price CON.F.US.MNQ.Z25 20010   # a fresh quote after the position opened: the daemon subscribes only then
key 2; until_ok "positions with their open P&L" shows "-100.00"
shot positions
key 1; until_ok "the overview" shows "3 of 5"
shot overview-ok

price CON.F.US.MES.Z25 5960
market CON.F.US.MES.Z25 1 2
until_ok "the lock" shows "LOCKED"
until_ok "the close" shows "positions 0"
shot overview-locked
key 5; until_ok "history" shows "lockout"
shot history
key 4; until_ok "locks" shows "daily_realized_loss"
shot locks
key 6; until_ok "connections" shows "Enforcement"
shot connections
key q
