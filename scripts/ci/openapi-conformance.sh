#!/usr/bin/env bash
# The hub answers as its OpenAPI document says, under property-based testing (schemathesis):
# every operation of the document the hub serves (/api/openapi.json, built from
# src/http/openapi.json) except the never-ending SSE stream (`connect`, covered by
# tests/fuzz_http.rs) gets the examples, coverage and fuzzing phases, valid and invalid data,
# with every check: no 5xx, documented status codes, content types (errors are JSON) and
# headers, bodies that match the response schemas, valid data accepted and invalid data
# refused, auth not ignored. Against a hub started here: `--store memory` with a publish and a
# subscribe key on a free loopback port.
#
# Bounded: a time budget for the whole run (SCHEMATHESIS_MAX_TIME, default 60 s), at most 100
# examples per operation and pass, every response within 5 s, every request within 10 s, and
# a hard stop 30 s past the budget. Installs schemathesis into a venv (scripts/lib/venv.sh).
#
#   SSEHUB_BIN             hub binary (default target/debug/ssehub; build it first)
#   SCHEMATHESIS_MAX_TIME  seconds of testing (default 60)
#   SCHEMATHESIS_SEED      the seed (default a fixed one, so that a run fails or passes the
#                          same way until the code changes; `random` explores, and the seed
#                          it drew is printed at the end for replaying)
#
# Exits non-zero when schemathesis reports a failure; the JUnit report and the hub's log land
# in target/schemathesis/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

hub_bin=${SSEHUB_BIN:-target/debug/ssehub}
[[ -x $hub_bin ]] || { echo "missing $hub_bin: build the hub first (cargo build)" >&2; exit 1; }
# Pinned (bump deliberately).
schemathesis_version=4.32.5
max_time=${SCHEMATHESIS_MAX_TIME:-60}
publish_key=schemathesis-publish-key
subscribe_key=schemathesis-subscribe-key
report_dir=$root/target/schemathesis

log() { printf '::: openapi-conformance: %s\n' "$*"; }

# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
# shellcheck source=scripts/lib/hubs.sh
source scripts/lib/hubs.sh

venv=$(python_venv schemathesis "schemathesis==$schemathesis_version")

mkdir -p "$report_dir"
rm -f "$report_dir/hub.log"
port=$(free_port)
base=http://127.0.0.1:$port
launch_hub "$report_dir/hub.log" "$port" --store memory --node-id schemathesis \
  --publish-keys "$publish_key" --subscribe-keys "$subscribe_key"

args=(
  --config-file scripts/ci/schemathesis.toml
  run "$base/api/openapi.json"
  --url "$base"
  --header "X-API-Key: $publish_key"
  --exclude-operation-id connect
  --phases "examples,coverage,fuzzing"
  --checks all
  --max-time "$max_time"
  --max-examples 100
  --max-response-time 5
  --request-timeout 10
  --workers 1
  --generation-database none
  --report junit
  --report-dir "$report_dir"
  --no-color
)
seed=${SCHEMATHESIS_SEED:-20261129}
if [[ $seed != random ]]; then
  args+=(--seed "$seed")
fi
log "st ${args[*]}"
# The hard stop: a request that hangs past every schemathesis limit still ends the run.
timeout --kill-after=5 "$((max_time + 30))" "$venv/bin/st" "${args[@]}"
