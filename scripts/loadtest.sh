#!/usr/bin/env bash
# Long load runs of ssehub, with numbers worth quoting: release builds, a fresh release hub per
# scenario on 127.0.0.1, JSON reports in artifacts/loadtest/. Every run is bounded (counts and
# seconds) and stops by itself; nothing leaves loopback.
#
#   scripts/loadtest.sh [SCENARIO...]     default: density-100k fanout-10k replay
#
#   density-20k    20,000 idle SSE connections: hub RSS and kernel TCP memory per connection
#   density-100k   100,000 idle connections from 127.0.0.2..127.0.0.6
#   density-200k   200,000 idle connections from 127.0.0.2..127.0.0.11
#   fanout-10k     10,000 subscribers, 4 publishers at 30 events/s for 30 s (300k deliveries/s;
#                  hub and harness each spend ~1-1.5 us CPU per delivery on these 2 cores)
#   fanout-max     1,000 subscribers, 8 publishers as fast as acks return, 20 s
#   density-tls    10,000 idle HTTP/1.1 streams over TLS: hub RSS per TLS stream
#   density-h2     100 TLS connections x 100 HTTP/2 streams: hub RSS per connection and stream
#   density-h2c    the same without TLS (h2c)
#   fanout-lean    10,000 subscribers (plain HTTP/1.1, the lean path), 4 publishers at 100
#                  events/s for 10 s: deliveries/s, the baseline of the two below
#   fanout-h2      the same as HTTP/2 streams over 100 TLS connections
#   fanout-tls     the same as HTTP/1.1 streams over TLS (one connection each)
#   replay         5,000 subscribers at 40 events/s for 30 s; 20 % dropped at 40 % and
#                  resumed with Last-Event-ID after 2 s
#   slow-consumer  200 subscribers, 8 publishers flat out for 20 s; half stop reading for 10 s
#                  (hub --write-stall-secs 2 closes them) and must resume losing nothing
#   lifetime       1,000 subscribers at 200 events/s for 30 s on a hub that ends every stream
#                  after ~5 s (--max-stream-lifetime-secs): thousands of resumes, nothing lost
#   restart        2,000 subscribers at 200 events/s for 30 s on the embedded store; the hub is
#                  SIGKILLed at 10 s and restarted on the same port and data directory
#   cluster        two hub processes sharing one FerretDB outbox (scripts/ferretdb.sh),
#                  2,000 subscribers and 4 publishers spread over both, 10 % resumed
#
#   SSEHUB_STORE   store for single-node runs: memory (default) or embedded
#   LOADTEST_OUT   report directory (default artifacts/loadtest)
#   CARGO_TARGET_DIR  honoured when building and locating the binaries
#
# Needs a high hard `ulimit -n`: the script raises the descriptor limit to 1,048,576 for itself,
# the hub and the harness where it may (root with CAP_SYS_RESOURCE), else to the hard limit,
# and runs density with as many connections as that limit allows (saying so). Both ends of
# every connection live on this machine, so a 200k run holds 400k sockets; the harness and
# the hub share the 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${LOADTEST_OUT:-artifacts/loadtest}
store=${SSEHUB_STORE:-memory}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

# Raise the descriptor limit (inherited by the hub and the harness): to 1,048,576 where the
# hard limit may be raised (root with CAP_SYS_RESOURCE), else to the hard limit.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -n)
# Connections one process can hold: the limit less what the hub needs besides connections.
max_conns=$((fd_limit - 500))

echo "building release binaries"
cargo build --release --workspace --bins
target_dir=${CARGO_TARGET_DIR:-target}
hub_bin=$target_dir/release/ssehub
lt_bin=$target_dir/release/ssehub-loadtest

# shellcheck source=scripts/lib/hubs.sh
source scripts/lib/hubs.sh

# start_hub NAME ARGS... : a release hub on a free port; sets $port and $pid.
start_hub() {
  local name=$1
  shift
  port=$(free_port)
  launch_hub "$out/$stamp-$name.log" "$port" --max-connections 400000 "$@"
}

# restart_hub NAME PORT ARGS... : starts a hub again on a given port (not waiting); sets $pid.
restart_hub() {
  local name=$1 at=$2
  shift 2
  spawn_hub "$out/$stamp-$name.log" "$at" --max-connections 400000 "$@"
}

# tls_hub NAME : a single hub serving HTTPS with a fresh self-signed certificate
# ($out/$stamp-tls/cert.pem, trusted by the harness with --ca-cert).
tls_hub() {
  self_signed_cert "$out/$stamp-tls"
  single_hub "$1" --tls-cert "$out/$stamp-tls/cert.pem" --tls-key "$out/$stamp-tls/key.pem"
}

single_hub() {
  local data name=$1
  shift
  data=$(mktemp -d -t ssehub-loadtest-data.XXXXXX)
  start_hub "$name" --store "$store" --data-dir "$data" "$@"
}

failed=()
# run NAME HARNESS-ARGS... : one bounded harness run (1 h at most) writing NAME's report.
run() {
  local name=$1
  shift
  echo
  echo "==> $name"
  if timeout 3600 "$lt_bin" --json "$out/$stamp-$name.json" "$@"; then
    echo "report: $out/$stamp-$name.json"
  else
    failed+=("$name")
  fi
}

density() {
  local name=$1 n=$2
  if [ "$n" -gt "$max_conns" ]; then
    echo "warning: $name: fd limit $fd_limit allows $max_conns connections, not $n; running $max_conns" >&2
    n=$max_conns
  fi
  single_hub "$name"
  run "$name" --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
    density --connections "$n" --per-source 20000 --hold-secs 10 \
    --connect-timeout-secs 900 --deliver-timeout-secs 120
  cleanup
}

# fanout_over NAME HUB-ARGS... : the fan-out series' parameters over a given transport.
fanout_over() {
  local name=$1
  shift
  run "$name" --hub-pid "$pid" "$@" \
    fanout --subscribers 10000 --publishers 4 --rate 100 --duration-secs 10 --drain-secs 60
}

scenario() {
  case $1 in
    density-tls)
      tls_hub density-tls
      run density-tls --hub "https://127.0.0.1:$port" --ca-cert "$out/$stamp-tls/cert.pem" \
        --hub-pid "$pid" density --connections 10000 --hold-secs 10 \
        --connect-timeout-secs 900 --deliver-timeout-secs 120
      cleanup
      ;;
    density-h2)
      tls_hub density-h2
      run density-h2 --hub "https://127.0.0.1:$port" --ca-cert "$out/$stamp-tls/cert.pem" \
        --hub-pid "$pid" --http h2 --h2-connections 100 \
        density --connections 10000 --hold-secs 10 --connect-timeout-secs 900 --deliver-timeout-secs 120
      cleanup
      ;;
    density-h2c)
      single_hub density-h2c
      run density-h2c --hub "http://127.0.0.1:$port" --hub-pid "$pid" --http h2 --h2-connections 100 \
        density --connections 10000 --hold-secs 10 --connect-timeout-secs 900 --deliver-timeout-secs 120
      cleanup
      ;;
    fanout-lean)
      single_hub fanout-lean
      fanout_over fanout-lean --hub "http://127.0.0.1:$port"
      cleanup
      ;;
    fanout-h2)
      tls_hub fanout-h2
      fanout_over fanout-h2 --hub "https://127.0.0.1:$port" --ca-cert "$out/$stamp-tls/cert.pem" \
        --http h2 --h2-connections 100
      cleanup
      ;;
    fanout-tls)
      tls_hub fanout-tls
      fanout_over fanout-tls --hub "https://127.0.0.1:$port" --ca-cert "$out/$stamp-tls/cert.pem"
      cleanup
      ;;
    density-20k) density density-20k 20000 ;;
    density-100k) density density-100k 100000 ;;
    density-200k) density density-200k 200000 ;;
    fanout-10k)
      single_hub fanout-10k
      run fanout-10k --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
        fanout --subscribers 10000 --publishers 4 --rate 30 --duration-secs 30 --drain-secs 60
      cleanup
      ;;
    fanout-max)
      single_hub fanout-max
      run fanout-max --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
        fanout --subscribers 1000 --publishers 8 --rate 0 --duration-secs 20 --drain-secs 120
      cleanup
      ;;
    replay)
      single_hub replay
      run replay --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
        replay --subscribers 5000 --publishers 4 --rate 40 --duration-secs 30 --drain-secs 60 \
        --drop-percent 20 --drop-at 0.4 --pause-ms 2000
      cleanup
      ;;
    slow-consumer)
      start_hub slow-consumer --store memory --write-stall-secs 2
      run slow-consumer --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
        replay --subscribers 200 --publishers 8 --rate 0 --duration-secs 20 --drain-secs 120 \
        --drop-percent 50 --drop-at 0.2 --pause-ms 10000 --stall
      cleanup
      ;;
    lifetime)
      start_hub lifetime --store memory --max-stream-lifetime-secs 5
      run lifetime --hub "http://127.0.0.1:$port" --hub-pid "$pid" \
        fanout --subscribers 1000 --publishers 4 --rate 200 --duration-secs 30 --drain-secs 60
      cleanup
      ;;
    restart)
      local data lt at
      data=$(mktemp -d -t ssehub-loadtest-data.XXXXXX)
      start_hub restart --store embedded --data-dir "$data"
      at=$port
      timeout 600 "$lt_bin" --json "$out/$stamp-restart.json" --hub "http://127.0.0.1:$at" \
        fanout --subscribers 2000 --publishers 4 --rate 200 --duration-secs 30 --drain-secs 60 &
      lt=$!
      sleep 10
      kill -KILL "$pid"
      wait "$pid" 2>/dev/null || true
      restart_hub restart "$at" --store embedded --data-dir "$data"
      echo
      echo "==> restart"
      if wait "$lt"; then
        echo "report: $out/$stamp-restart.json"
      else
        failed+=(restart)
      fi
      cleanup
      ;;
    cluster)
      ferret_dir=$(mktemp -d -t ssehub-loadtest-ferret.XXXXXX)
      local uri node1
      uri=$(scripts/ferretdb.sh start "$ferret_dir")
      start_hub cluster-1 --mongodb-uri "$uri" --node-id load-1
      node1=$port
      start_hub cluster-2 --mongodb-uri "$uri" --node-id load-2
      run cluster --hub "http://127.0.0.1:$node1" --hub "http://127.0.0.1:$port" \
        cluster --subscribers 2000 --publishers 4 --rate 100 --duration-secs 30 --drain-secs 60 \
        --drop-percent 10 --pause-ms 1000
      cleanup
      ;;
    *)
      echo "unknown scenario $1 (see the header of $0)" >&2
      exit 64
      ;;
  esac
}

if [ "$#" -eq 0 ]; then
  set -- density-100k fanout-10k replay
fi
for s in "$@"; do
  scenario "$s"
done

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "loadtest: $(($# - ${#failed[@]})) passed, ${#failed[@]} failed (${failed[*]})"
  exit 1
fi
echo "loadtest: $# passed, 0 failed; reports in $out"
