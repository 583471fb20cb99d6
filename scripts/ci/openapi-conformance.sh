#!/usr/bin/env bash
# Schemathesis (property-based API testing from src/http/openapi.json) against a real hub:
# `target/debug/ssehub --store memory` with a publish and a subscribe key on a free loopback
# port. Every operation except the never-ending SSE stream (`connect`, covered by
# tests/fuzz_http.rs) gets the examples, coverage and fuzzing phases, bounded by a time budget.
#
# Installs schemathesis into its own venv under ${XDG_CACHE_HOME:-$HOME/.cache}/ssehub-ci/.
# Environment: SCHEMATHESIS_MAX_TIME (seconds of fuzzing, default 60), SCHEMATHESIS_SEED.
# Exits non-zero when schemathesis reports a failure; the report lands in target/schemathesis/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/ssehub-ci"
venv="$cache/schemathesis-venv"
# Pinned (bump deliberately).
schemathesis_version=4.32.5
max_time="${SCHEMATHESIS_MAX_TIME:-60}"
publish_key="schemathesis-publish-key"
subscribe_key="schemathesis-subscribe-key"
report_dir="$root/target/schemathesis"

log() { printf '::: schemathesis: %s\n' "$*"; }

ensure_venv() {
  local want="schemathesis==$schemathesis_version"
  if [[ -x "$venv/bin/st" && -f "$venv/.ssehub-ci-stamp" && "$(cat "$venv/.ssehub-ci-stamp")" == "$want" ]]; then
    return 0
  fi
  log "creating $venv ($want)"
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$want"
  printf '%s' "$want" >"$venv/.ssehub-ci-stamp"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_live() {
  local url="$1" _
  for _ in $(seq 1 100); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "schemathesis: the hub did not come up at $url" >&2
  return 1
}

ensure_venv
log "building target/debug/ssehub"
cargo build --quiet --bin ssehub

port="$(free_port)"
base="http://127.0.0.1:$port"
mkdir -p "$report_dir"
target/debug/ssehub --listen "127.0.0.1:$port" --store memory --node-id schemathesis \
  --publish-keys "$publish_key" --subscribe-keys "$subscribe_key" \
  >"$report_dir/hub.log" 2>&1 &
hub=$!
trap 'kill "$hub" 2>/dev/null || true; wait "$hub" 2>/dev/null || true' EXIT
wait_live "$base/health/live"

# Ack refuses schema-valid bodies for reasons of state that no schema can say (`sequence_ahead`
# past the head, `token_client_mismatch`), so a 400 there is no failure of positive data.
config="$report_dir/schemathesis.toml"
cat >"$config" <<'TOML'
[[operations]]
include-operation-id = "ack"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "409", "429"]
TOML

args=(
  --config-file "$config"
  run "$root/src/http/openapi.json"
  --url "$base"
  --header "X-API-Key: $publish_key"
  --exclude-operation-id connect
  --phases "examples,coverage,fuzzing"
  --checks all
  --max-time "$max_time"
  --request-timeout 10
  --workers 1
  --generation-database none
  --report junit
  --report-dir "$report_dir"
  --no-color
)
if [[ -n "${SCHEMATHESIS_SEED:-}" ]]; then
  args+=(--seed "$SCHEMATHESIS_SEED")
fi
log "st ${args[*]}"
# A hard stop well past the fuzzing budget, in case a request hangs.
timeout "$((max_time + 120))" "$venv/bin/st" "${args[@]}"
