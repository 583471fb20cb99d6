#!/usr/bin/env bash
# Runs the whole thing on this machine: builds the SPA and the hub, then serves both with the
# embedded store under ./data and the demo generator on, at --listen (default 127.0.0.1:8080).
# Extra arguments go to ssehub unchanged (e.g. --listen 127.0.0.1:9090, --publish-keys k).
set -euo pipefail
cd "$(dirname "$0")/.."

# The first release build compiles every dependency: 13.5 min measured on a loaded 2-core
# machine. Later runs rebuild only what changed (seconds to a minute or two).
FIRST_BUILD_NOTE="about 10-15 minutes on a 2-core machine"
# How long to wait for /health/live once the hub process runs (it opens its store first).
LIVE_TIMEOUT_SECS=120

step_started=0
step() {
  step_started=$SECONDS
  echo "==> $*"
}
done_step() {
  echo "    done in $((SECONDS - step_started)) s"
}

for tool in cargo npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: '$tool' is not installed; ssehub needs Rust (cargo) and Node.js 20+ with npm" >&2
    exit 1
  fi
done

# --- the SPA -------------------------------------------------------------------------------
# npm ci wipes and reinstalls node_modules (~20 s); skip it while node_modules was installed
# from exactly this package-lock.json (its hash is written after each successful install).
lock_hash="$(sha256sum frontend/package-lock.json | cut -d' ' -f1)"
stamp=frontend/node_modules/.ssehub-lock-hash
if [[ -f $stamp && "$(cat "$stamp")" == "$lock_hash" ]]; then
  echo "==> frontend/node_modules matches package-lock.json: skipping npm ci"
else
  step "installing the SPA's npm packages (npm ci, about half a minute)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
  done_step
fi
step "building the SPA (frontend/dist)"
(cd frontend && npm run build --silent >/dev/null)
done_step

# --- the hub -------------------------------------------------------------------------------
if [[ -x target/release/ssehub ]]; then
  step "building the hub (cargo build --release; only what changed)"
else
  step "building the hub (cargo build --release): the first build compiles every dependency, $FIRST_BUILD_NOTE"
fi
cargo build --release --bin ssehub
done_step

# --- where it will listen ------------------------------------------------------------------
# The same precedence as the hub: a --listen flag, else SSEHUB_LISTEN, else the default.
listen="${SSEHUB_LISTEN:-127.0.0.1:8080}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listen) listen="${args[i + 1]:-$listen}" ;;
    --listen=*) listen="${args[i]#--listen=}" ;;
  esac
done
port="${listen##*:}"
host="${listen%:*}"
# A wildcard address listens everywhere; this machine reaches it on loopback.
case "$host" in
  0.0.0.0) host=127.0.0.1 ;;
  "[::]") host="[::1]" ;;
esac
url="http://$host:$port/"

live() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 1 -o /dev/null "${url}health/live" 2>/dev/null
  else
    # no curl: a bare HTTP request over bash's /dev/tcp (IPv4 or a host name only)
    local h="${host#[}" reply
    h="${h%]}"
    exec 3<>"/dev/tcp/$h/$port" 2>/dev/null || return 1
    printf 'GET /health/live HTTP/1.0\r\nHost: %s\r\n\r\n' "$host" >&3
    IFS= read -r -t 1 reply <&3 || true
    exec 3>&-
    [[ $reply == *" 200 "* ]]
  fi
}

if [[ $port != 0 ]] && live; then
  echo "run.sh: something already answers on $url; stop it or pass another --listen" >&2
  exit 1
fi

# Announce the URL only once the hub answers: a watcher in the background polls /health/live
# while the hub runs in the foreground (exec, so Ctrl-C and SIGTERM reach it directly).
hub_pid=$$
[[ $port == 0 ]] || (
  deadline=$((SECONDS + LIVE_TIMEOUT_SECS))
  while kill -0 "$hub_pid" 2>/dev/null; do
    if live; then
      echo "==> ssehub is listening: open $url (Ctrl-C stops it)"
      exit 0
    fi
    if ((SECONDS > deadline)); then
      echo "==> ssehub has not answered ${url}health/live after ${LIVE_TIMEOUT_SECS} s; see its log above" >&2
      exit 0
    fi
    sleep 0.3
  done
) &

if [[ $port == 0 ]]; then
  echo "==> starting ssehub on an ephemeral port (--listen $listen); its 'ssehub listening' log line names it"
else
  echo "==> starting ssehub (listen $listen, demo generator on; the embedded store is ./data unless you pass --data-dir)"
fi
exec target/release/ssehub --static-dir frontend/dist --demo-on-start "$@"
