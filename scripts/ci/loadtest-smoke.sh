#!/usr/bin/env bash
# Short smoke runs of every ssehub-loadtest scenario against a hub started here, each bounded
# to ~20 s, all on 127.0.0.1. Fails if any scenario reports a loss, duplicate, order or
# protocol violation. Long runs with real numbers: scripts/loadtest.sh.
#
#   SSEHUB_BIN            hub binary (default target/debug/ssehub)
#   SSEHUB_LOADTEST_BIN   harness binary (default target/debug/ssehub-loadtest)
#   LOADTEST_OUT          where JSON reports and hub logs go (default: a temp dir)
#   LOADTEST_CLUSTER_MONGO=0  run `cluster` against two URLs of one memory-store hub instead of
#                         two hub processes sharing a FerretDB outbox (scripts/ferretdb.sh;
#                         independent memory stores share no outbox, so they are no cluster).
set -euo pipefail
cd "$(dirname "$0")/../.."

hub_bin=${SSEHUB_BIN:-target/debug/ssehub}
lt_bin=${SSEHUB_LOADTEST_BIN:-target/debug/ssehub-loadtest}
out=${LOADTEST_OUT:-$(mktemp -d -t ssehub-loadtest-smoke.XXXXXX)}
mkdir -p "$out"
for bin in "$hub_bin" "$lt_bin"; do
  [ -x "$bin" ] || { echo "missing $bin: run cargo build --workspace first" >&2; exit 1; }
done

# shellcheck source=scripts/lib/hubs.sh
source scripts/lib/hubs.sh

# start_hub NAME ARGS... : starts a hub on a free port; sets $port and $pid.
start_hub() {
  local name=$1
  shift
  port=$(free_port)
  launch_hub "$out/$name.log" "$port" "$@"
}

failed=()
passed=0
# scenario NAME ARGS... : runs the harness with a hard time bound and records the verdict.
scenario() {
  local name=$1
  shift
  echo
  echo "==> loadtest smoke: $name"
  if timeout 90 "$lt_bin" --json "$out/$name.json" "$@"; then
    passed=$((passed + 1))
  else
    failed+=("$name")
  fi
}

start_hub hub --store memory
hub="http://127.0.0.1:$port"
hub_pid=$pid

scenario density --hub "$hub" --hub-pid "$hub_pid" \
  density --connections 500 --hold-secs 1 --deliver-timeout-secs 10
scenario fanout --hub "$hub" --hub-pid "$hub_pid" \
  fanout --subscribers 50 --publishers 2 --rate 150 --duration-secs 3 --drain-secs 10
scenario replay --hub "$hub" --hub-pid "$hub_pid" \
  replay --subscribers 50 --publishers 2 --rate 150 --duration-secs 3 --drain-secs 10 \
  --drop-percent 30 --pause-ms 300

# Batches and retries (issue 15). A batch's events must arrive consecutive and in order; every
# K-th request is sent again with the same messageIds and must answer the original sequences
# with nothing delivered twice. The harness judges exactly-once and order; `expect_publishes`
# checks the run really used batches and retries, so a harness that silently skipped them
# cannot pass.
# expect_publishes NAME BATCH MIN_RETRIES : reads the JSON report of scenario NAME.
expect_publishes() {
  python3 - "$out/$1.json" "$2" "$3" <<'PY' || failed+=("$1-publishes")
import json, sys
path, batch, min_retries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m = json.load(open(path))["metrics"]
problems = []
if m["batch"] != batch:
    problems.append(f"batch {m['batch']}, expected {batch}")
if m["published"] < 10 * batch:
    problems.append(f"only {m['published']} events published")
if m["retries"] < min_retries or m["retriesMatched"] != m["retries"]:
    problems.append(f"{m['retriesMatched']} of {m['retries']} retries answered the original (want >= {min_retries}, all)")
if problems:
    print(f"{path}: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"{path}: {m['published']} events in batches of {batch}, {m['retries']} retries answered the original")
PY
}
scenario batch --hub "$hub" --hub-pid "$hub_pid" \
  fanout --subscribers 20 --publishers 2 --rate 2000 --batch 50 --duration-secs 3 --drain-secs 10
expect_publishes batch 50 0
start_hub retries --data-dir "$out/retries-data"
scenario retries --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
  fanout --subscribers 20 --publishers 2 --rate 400 --batch 10 --message-id --retry-every 3 \
  --duration-secs 3 --drain-secs 10
expect_publishes retries 10 5
scenario retries-single --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
  fanout --subscribers 20 --publishers 2 --rate 200 --message-id --retry-every 2 \
  --duration-secs 3 --drain-secs 10
expect_publishes retries-single 1 10
# TLS and HTTP/2: a hub with a self-signed certificate. Subscribers as HTTP/2 streams over two
# TLS connections, dropped and resumed; then HTTP/1.1 streams over TLS (the lean path); then h2c
# density on the plain hub.
self_signed_cert "$out/tls"
start_hub tls --store memory --tls-cert "$out/tls/cert.pem" --tls-key "$out/tls/key.pem"
tls_hub="https://127.0.0.1:$port"
scenario tls-h2-replay --hub "$tls_hub" --ca-cert "$out/tls/cert.pem" --hub-pid "$pid" \
  --http h2 --h2-connections 2 \
  replay --subscribers 100 --publishers 2 --rate 150 --duration-secs 3 --drain-secs 10 \
  --drop-percent 30 --pause-ms 300
scenario tls-http1-fanout --hub "$tls_hub" --ca-cert "$out/tls/cert.pem" --hub-pid "$pid" \
  fanout --subscribers 50 --publishers 2 --rate 150 --duration-secs 3 --drain-secs 10
scenario h2c-density --hub "$hub" --hub-pid "$hub_pid" --http h2 --h2-connections 5 \
  density --connections 500 --hold-secs 1 --deliver-timeout-secs 10

# Slow consumers: half the subscribers stop reading for 2.5 s while publishers go flat out;
# a hub that closes stalled sockets after 1 s must still lose nothing once they resume.
start_hub slow --store memory --write-stall-secs 1 --tail-capacity 256
scenario slow-consumer --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
  replay --subscribers 10 --publishers 4 --rate 0 --duration-secs 4 --drain-secs 15 \
  --drop-percent 50 --drop-at 0.25 --pause-ms 2500 --stall
# The same over HTTP/2: stalled streams share their connections with readers that keep going;
# the hub resets only the stalled streams.
scenario slow-consumer-h2 --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
  --http h2 --h2-connections 2 \
  replay --subscribers 10 --publishers 4 --rate 0 --duration-secs 4 --drain-secs 15 \
  --drop-percent 50 --drop-at 0.25 --pause-ms 2500 --stall

# Crash: SIGKILL a hub on the embedded store mid-run and restart it on the same port and data
# directory; every acknowledged publish must still reach every subscriber exactly once.
start_hub restart --data-dir "$out/restart-data"
restart_port=$port
echo
echo "==> loadtest smoke: restart"
timeout 90 "$lt_bin" --json "$out/restart.json" --hub "http://127.0.0.1:$restart_port" \
  fanout --subscribers 50 --publishers 2 --rate 100 --duration-secs 6 --drain-secs 20 &
harness=$!
sleep 2.5
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
launch_hub "$out/restart.log" "$restart_port" --data-dir "$out/restart-data"
if wait "$harness"; then
  passed=$((passed + 1))
else
  failed+=(restart)
fi

if [ "${LOADTEST_CLUSTER_MONGO:-1}" = 1 ]; then
  ferret_dir="$out/ferretdb"
  uri=$(scripts/ferretdb.sh start "$ferret_dir")
  start_hub node1 --mongodb-uri "$uri" --node-id smoke-1
  node1="http://127.0.0.1:$port"
  start_hub node2 --mongodb-uri "$uri" --node-id smoke-2
  node2="http://127.0.0.1:$port"
else
  echo "(cluster: two URLs of one memory-store hub, as LOADTEST_CLUSTER_MONGO=0 asks)"
  node1=$hub
  node2=$hub
fi
scenario cluster --hub "$node1" --hub "$node2" \
  cluster --subscribers 40 --publishers 2 --rate 100 --duration-secs 3 --drain-secs 10 \
  --drop-percent 20 --pause-ms 300

echo
echo "reports and hub logs: $out"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "loadtest-smoke: $passed passed, ${#failed[@]} failed (${failed[*]})"
  exit 1
fi
echo "loadtest-smoke: $passed passed, 0 failed"
