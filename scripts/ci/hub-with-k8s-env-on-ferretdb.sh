#!/usr/bin/env bash
# Runs the real hub with exactly the environment the Kubernetes Deployment gives it, and
# checks what the kubelet and the image rely on.
#
# The environment is read from k8s/hub-deployment.yaml (env, envFrom), k8s/hub-configmap.yaml
# and k8s/hub-secret.yaml. Only two values are overridden: MONGODB_URI points at a FerretDB
# started here (scripts/ferretdb.sh), and SSEHUB_LISTEN is 127.0.0.1:<free port>.
#
# Checks: /health/live and /health/ready answer 200 (as the probes expect); `ssehub
# healthcheck` exits 0 (and 1 when nothing listens); publish and subscribe work with the
# Secret's keys; the frontend's nginx config proxies the API and the SSE stream unbuffered
# (when nginx is installed); a second node with docker-compose.yml's hub1 environment starts
# on the same store and delivers an event published on the first; a store outage turns
# readiness 503 while liveness stays 200, and
# readiness recovers with the store; SIGTERM ends open streams with a final comment and the
# hub exits 0 within SSEHUB_SHUTDOWN_GRACE_SECS.
#
# deployment_env.py and compose_hub_env.py (next to this script) resolve the environments.
#
#   SSEHUB_BIN   the hub binary (default target/debug/ssehub; build it first)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

here="$root/scripts/ci"
bin="${SSEHUB_BIN:-target/debug/ssehub}"
[[ $bin == /* ]] || bin="$root/$bin"

log() { printf '::: hub-with-k8s-env-on-ferretdb: %s\n' "$*"; }
die() {
  printf 'hub-with-k8s-env-on-ferretdb: %s\n' "$*" >&2
  exit 1
}

if [[ ! -x $bin ]]; then
  die "$bin not found; build the hub first (cargo build)"
fi

scripts/install-debian-packages.sh curl

# A Python with PyYAML: the system one, else a small venv of our own.
py=python3
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
  # shellcheck source=scripts/lib/venv.sh
  source scripts/lib/venv.sh
  py="$(python_venv pyyaml PyYAML==6.0.2)/bin/python"
fi

free_port() { python3 scripts/lib/free_port.py; }

tmp=$(mktemp -d)
hub_pid=
hub2_pid=
nginx_pid=
stream_pids=()
cleanup() {
  local pid
  for pid in "${stream_pids[@]}" "$nginx_pid" "$hub2_pid" "$hub_pid"; do
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
  done
  if [[ -n $hub_pid ]]; then wait "$hub_pid" 2>/dev/null || true; fi
  bash "$root/scripts/ferretdb.sh" stop "$tmp/ferretdb" || true
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
failures=()
pass() {
  passed=$((passed + 1))
  echo "PASS $*"
}
fail() {
  failed=$((failed + 1))
  failures+=("$1")
  echo "FAIL $*"
}
expect() { # expect ACTUAL WANTED PASS_MESSAGE FAIL_NAME FAIL_MESSAGE
  if [[ $1 == "$2" ]]; then pass "$3"; else fail "$4" "$5"; fi
}

# ---------------------------------------------------------------------------------------------
log "starting FerretDB (the MongoDB the test points MONGODB_URI at)"
mongodb_uri=$(bash scripts/ferretdb.sh start "$tmp/ferretdb")
port=$(free_port)
pod=ssehub-envtest-0
log "FerretDB at $mongodb_uri; the hub will listen on 127.0.0.1:$port"

# The Deployment's environment, resolved from the ConfigMap and Secret files, NUL-separated.
"$py" "$here/deployment_env.py" --pod "$pod" --mongodb-uri "$mongodb_uri" \
  --listen "127.0.0.1:$port" "$tmp/env" "$tmp/meta"

mapfile -d '' -t hub_env <"$tmp/env"
meta() { grep "^$1=" "$tmp/meta" | cut -d= -f2-; }
grace=$(meta GRACE)
live_path=$(meta LIVE_PATH)
ready_path=$(meta READY_PATH)
startup_path=$(meta STARTUP_PATH)
publish_key=$(meta PUBLISH_KEY)
subscribe_key=$(meta SUBSCRIBE_KEY)
base="http://127.0.0.1:$port"

expect "$live_path" /health/live "liveness probe path is /health/live" liveness-path "is $live_path"
expect "$ready_path" /health/ready "readiness probe path is /health/ready" readiness-path "is $ready_path"

# ---------------------------------------------------------------------------------------------
mkdir -p "$tmp/work"
log "starting $bin with the Deployment's environment (env -i)"
(cd "$tmp/work" && exec env -i "${hub_env[@]}" "$bin") >"$tmp/hub.log" 2>&1 &
hub_pid=$!

status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base$1" || true; }
hub_alive() { kill -0 "$hub_pid" 2>/dev/null; }
hub_log() {
  echo "--- hub log (last 40 lines) ---"
  tail -n 40 "$tmp/hub.log"
  echo "---"
}

# Startup: like the startupProbe (2 s x 30), then the liveness probe.
up=0
for _ in $(seq 1 300); do
  hub_alive || break
  if [[ $(status "$startup_path") == 200 ]]; then
    up=1
    break
  fi
  sleep 0.2
done
if [[ $up != 1 ]]; then
  fail "startup" "the hub did not answer $startup_path with 200 within 60 s"
  hub_alive || { wait "$hub_pid" && rc=0 || rc=$?; echo "the hub exited with status $rc"; }
  hub_pid=
  hub_log
  echo "hub-with-k8s-env-on-ferretdb: $passed passed, $failed failed"
  exit 1
fi
code=$(status "$live_path")
expect "$code" 200 "GET $live_path -> 200" live "GET $live_path -> $code"

# Readiness: the store must be reachable and the dispatcher caught up; allow 30 s, as a
# readiness probe would keep trying.
code=000
for _ in $(seq 1 150); do
  code=$(status "$ready_path")
  [[ $code == 200 ]] && break
  sleep 0.2
done
if [[ $code == 200 ]]; then
  pass "GET $ready_path -> 200"
else
  fail "ready" "GET $ready_path -> $code: $(curl -s --max-time 3 "$base$ready_path" || true)"
  hub_log
fi

# The image's HEALTHCHECK: `ssehub healthcheck` with the same environment.
if (cd "$tmp/work" && env -i "${hub_env[@]}" "$bin" healthcheck); then
  pass "ssehub healthcheck exits 0"
else
  fail "healthcheck" "ssehub healthcheck exited non-zero against a live hub"
fi
closed=$(free_port)
if (cd "$tmp/work" && env -i "${hub_env[@]}" SSEHUB_LISTEN="0.0.0.0:$closed" "$bin" healthcheck) 2>/dev/null; then
  fail "healthcheck-negative" "ssehub healthcheck exited 0 with nothing listening on :$closed"
else
  pass "ssehub healthcheck exits non-zero when nothing listens"
fi

# The store the Deployment selects (SSEHUB_STORE / MONGODB_URI) is the one in use.
want_store=$(tr '\0' '\n' <"$tmp/env" | sed -n 's/^SSEHUB_STORE=//p')
stats=$(curl -s --max-time 5 -H "X-API-Key: $subscribe_key" "$base/api/sse/stats" || true)
store=$("$py" -c 'import json,sys; print(json.loads(sys.argv[1]).get("store", ""))' "$stats" 2>/dev/null || true)
expect "$store" "${want_store:-mongodb}" "the hub runs on the ${store:-?} store (GET /api/sse/stats)" store \
  "stats say store=${store:-?}, the Deployment selects ${want_store:-mongodb}: $stats"

code=$(status /metrics)
expect "$code" 200 "GET /metrics -> 200 (in-cluster scraping)" metrics "GET /metrics -> $code"

# ---------------------------------------------------------------------------------------------
# Publish and subscribe with the Secret's keys, through the MongoDB store.
open_stream() { # open_stream URL OUTFILE: an SSE stream in the background
  curl -sN --max-time 120 -H 'Accept: text/event-stream' "$1" >"$2" 2>/dev/null &
  stream_pids+=($!)
}
wait_for() { # wait_for FILE PATTERN SECONDS
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    [[ $i -gt 0 ]] && sleep 0.1
  done
  return 1
}
publish() { # publish BASE_URL MESSAGE -> prints the HTTP status
  curl -s -o "$tmp/publish.json" -w '%{http_code}' --max-time 10 -X POST \
    -H "X-API-Key: $publish_key" -H 'Content-Type: application/json' \
    -d "{\"message\": \"$2\", \"severity\": \"info\"}" "$1/api/sse/notification" || true
}

open_stream "$base/api/sse/connect?clientId=envtest-direct&apikey=$subscribe_key" "$tmp/direct.sse"
if wait_for "$tmp/direct.sse" 'event: connected' 10; then
  pass "SSE stream opens with the subscribe key"
else
  fail "sse-connect" "no 'event: connected' within 10 s: $(head -c 300 "$tmp/direct.sse")"
fi
code=$(publish "$base" envtest-direct-1)
if [[ $code == 200 ]] && wait_for "$tmp/direct.sse" 'envtest-direct-1' 10; then
  pass "publish with the publish key (200) reaches the stream"
else
  fail "publish" "POST /api/sse/notification -> $code $(cat "$tmp/publish.json" 2>/dev/null); stream: $(tail -c 300 "$tmp/direct.sse")"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST -H 'X-API-Key: not-a-key' \
  -H 'Content-Type: application/json' -d '{"message":"x"}' "$base/api/sse/notification" || true)
expect "$code" 401 "a wrong key is refused (401)" auth "a wrong key got $code"

# ---------------------------------------------------------------------------------------------
# The frontend image's nginx config in front of this hub (same template, test port and root).
if command -v nginx >/dev/null 2>&1; then
  nginx_port=$(free_port)
  ndir="$tmp/nginx"
  mkdir -p "$ndir/tmp" "$ndir/html/assets"
  # nginx workers run as an unprivileged user when started by root: let them reach the root.
  chmod 0711 "$tmp"
  chmod 0600 "$tmp/env"
  echo '<!doctype html><title>ssehub envtest</title>' >"$ndir/html/index.html"
  echo 'console.log(1)' >"$ndir/html/assets/app-abc123.js"
  chmod -R a+rX "$ndir"
  sed -e "s|\${SSEHUB_UPSTREAM}|127.0.0.1:$port|g" \
    -e "s|listen 8080;|listen 127.0.0.1:$nginx_port;|" \
    -e "s|root /usr/share/nginx/html;|root $ndir/html;|" frontend/nginx.conf >"$ndir/default.conf"
  grep -q "listen 127.0.0.1:$nginx_port;" "$ndir/default.conf" ||
    die "frontend/nginx.conf no longer has 'listen 8080;' for this test to rewrite"
  mime=/etc/nginx/mime.types
  [[ -f $mime ]] || { mime="$ndir/mime.types"; echo 'types { text/html html; application/javascript js; }' >"$mime"; }
  cat >"$ndir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $ndir/nginx.pid;
error_log $ndir/error.log warn;
events { worker_connections 256; }
http {
    include $mime;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $ndir/tmp/body;
    proxy_temp_path $ndir/tmp/proxy;
    fastcgi_temp_path $ndir/tmp/fastcgi;
    uwsgi_temp_path $ndir/tmp/uwsgi;
    scgi_temp_path $ndir/tmp/scgi;
    include $ndir/default.conf;
}
EOF
  nginx -p "$ndir" -c "$ndir/nginx.conf" &
  nginx_pid=$!
  nbase="http://127.0.0.1:$nginx_port"
  for _ in $(seq 1 50); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$nbase/healthz" || true) == 200 ]] && break
    sleep 0.1
  done
  ncode() { curl -s -o "$tmp/nginx.body" -w '%{http_code}' --max-time 5 "$nbase$1" || true; }
  ok=1
  [[ $(ncode /healthz) == 200 ]] || { ok=0; echo "nginx: /healthz not 200"; }
  if [[ $(ncode /) != 200 ]] || ! grep -q 'ssehub envtest' "$tmp/nginx.body"; then
    ok=0
    echo "nginx: / is not index.html"
  fi
  if [[ $(ncode /examples/checkpoint) != 200 ]] || ! grep -q 'ssehub envtest' "$tmp/nginx.body"; then
    ok=0
    echo "nginx: no SPA fallback"
  fi
  [[ $(ncode /assets/missing.js) == 404 ]] || { ok=0; echo "nginx: a missing asset is not 404"; }
  [[ $(ncode /metrics) == 404 ]] || { ok=0; echo "nginx: /metrics is exposed"; }
  [[ $(ncode "$ready_path") == 200 ]] || { ok=0; echo "nginx: $ready_path not proxied"; }
  [[ $(ncode /api/openapi.json) == 200 ]] || { ok=0; echo "nginx: /api not proxied"; }
  if [[ $ok == 1 ]]; then pass "nginx: SPA fallback, /healthz, /metrics 404, /api and /health proxied"; else fail "nginx-routes" "see above"; fi

  open_stream "$nbase/api/sse/connect?clientId=envtest-nginx&apikey=$subscribe_key" "$tmp/nginx.sse"
  if wait_for "$tmp/nginx.sse" 'event: connected' 10; then
    sent=$(date +%s%N)
    code=$(publish "$nbase" envtest-via-nginx)
    if [[ $code == 200 ]] && wait_for "$tmp/nginx.sse" 'envtest-via-nginx' 3; then
      ms=$((($(date +%s%N) - sent) / 1000000))
      pass "SSE through nginx: published event arrived unbuffered (${ms} ms)"
    else
      fail "nginx-sse" "publish via nginx -> $code; stream: $(tail -c 300 "$tmp/nginx.sse")"
    fi
  else
    fail "nginx-sse" "no 'event: connected' through nginx: $(head -c 300 "$tmp/nginx.sse"); $(tail -n 5 "$ndir/error.log")"
  fi
else
  echo "SKIP nginx proxy test: nginx is not installed (scripts/install-debian-packages.sh nginx)"
fi

# ---------------------------------------------------------------------------------------------
# A second node with docker-compose.yml's hub1 environment (its ${VAR:-default}s resolved, the
# same two overrides) on the same store: it must start and be ready, and an event published on
# the Deployment's hub must reach a stream on this one (nodes share the outbox).
port2=$(free_port)
"$py" "$here/compose_hub_env.py" --mongodb-uri "$mongodb_uri" --listen "127.0.0.1:$port2" \
  "$tmp/env2"
chmod 0600 "$tmp/env2"
mapfile -d '' -t hub2_env <"$tmp/env2"
compose_subscribe_key=$(tr '\0' '\n' <"$tmp/env2" | sed -n 's/^SSEHUB_SUBSCRIBE_KEYS=//p' | cut -d, -f1)
mkdir -p "$tmp/work2"
(cd "$tmp/work2" && exec env -i "${hub2_env[@]}" "$bin") >"$tmp/hub2.log" 2>&1 &
hub2_pid=$!
base2="http://127.0.0.1:$port2"
code=000
for _ in $(seq 1 150); do
  kill -0 "$hub2_pid" 2>/dev/null || break
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$base2$ready_path" || true)
  [[ $code == 200 ]] && break
  sleep 0.2
done
expect "$code" 200 "compose hub1 environment: a second node starts and is ready" "compose-env" \
  "compose hub1 environment: $ready_path -> $code; log: $(tail -n 5 "$tmp/hub2.log")"
open_stream "$base2/api/sse/connect?clientId=envtest-node2&apikey=$compose_subscribe_key" "$tmp/node2.sse"
if wait_for "$tmp/node2.sse" 'event: connected' 10; then
  code=$(publish "$base" envtest-cross-node)
  if [[ $code == 200 ]] && wait_for "$tmp/node2.sse" 'envtest-cross-node' 10; then
    pass "cross-node: published on the Deployment's hub, delivered by the second node"
  else
    fail "cross-node" "publish -> $code; second node's stream: $(tail -c 300 "$tmp/node2.sse")"
  fi
else
  fail "cross-node" "no stream on the second node: $(head -c 300 "$tmp/node2.sse")"
fi
kill -TERM "$hub2_pid"
rc=0
wait "$hub2_pid" || rc=$?
hub2_pid=
expect "$rc" 0 "second node: SIGTERM -> exit 0" "compose-env-exit" "second node exited with status $rc"

# ---------------------------------------------------------------------------------------------
# A store outage makes the hub unready (out of the Service) but not unlive (no restart loop),
# and it turns ready again by itself when the store is back (FerretDB restarted on its port).
log "stopping FerretDB: readiness should drop, liveness should not"
ferret_port=$(cat "$tmp/ferretdb/port")
bash scripts/ferretdb.sh stop "$tmp/ferretdb"
code=200
for _ in $(seq 1 150); do
  code=$(status "$ready_path")
  [[ $code == 503 ]] && break
  sleep 0.2
done
expect "$code" 503 "store down: GET $ready_path -> 503" "outage-ready" "store down: GET $ready_path -> $code after 30 s"
code=$(status "$live_path")
expect "$code" 200 "store down: GET $live_path still 200 (no restart)" "outage-live" "store down: GET $live_path -> $code"
FERRETDB_PORT=$ferret_port bash scripts/ferretdb.sh start "$tmp/ferretdb" >/dev/null
for _ in $(seq 1 300); do
  code=$(status "$ready_path")
  [[ $code == 200 ]] && break
  sleep 0.2
done
expect "$code" 200 "store back: GET $ready_path -> 200 again" "outage-recovery" "store back: GET $ready_path -> $code after 60 s"

# ---------------------------------------------------------------------------------------------
# SIGTERM: streams end with a final comment; exit 0 within the grace period.
open_stream "$base/api/sse/connect?clientId=envtest-drain&apikey=$subscribe_key" "$tmp/drain.sse"
wait_for "$tmp/drain.sse" 'event: connected' 10 || true
code=$(publish "$base" envtest-after-outage)
if [[ $code == 200 ]] && wait_for "$tmp/drain.sse" 'envtest-after-outage' 10; then
  pass "store back: publish and delivery work again"
else
  fail "outage-publish" "publish after the outage -> $code; stream: $(tail -c 300 "$tmp/drain.sse")"
fi
log "SIGTERM (grace ${grace}s)"
start=$(date +%s%N)
kill -TERM "$hub_pid"
rc=0
deadline=$(($(date +%s) + grace + 5))
while hub_alive && [[ $(date +%s) -lt $deadline ]]; do sleep 0.05; done
if hub_alive; then
  fail "sigterm" "still running ${grace}+5 s after SIGTERM"
  kill -KILL "$hub_pid" 2>/dev/null || true
  wait "$hub_pid" 2>/dev/null || true
else
  wait "$hub_pid" || rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  if [[ $rc == 0 && $ms -le $((grace * 1000 + 500)) ]]; then
    pass "SIGTERM: exit 0 after ${ms} ms (grace ${grace} s)"
  else
    fail "sigterm" "exit status $rc after ${ms} ms (grace ${grace} s)"
    hub_log
  fi
fi
hub_pid=
if grep -q '^: shutdown' "$tmp/drain.sse"; then
  pass "open streams got the final ': shutdown' comment"
else
  fail "sigterm-streams" "no final comment on the open stream: $(tail -c 200 "$tmp/drain.sse" | od -c | tail -n 5)"
fi

echo
if [[ $failed -gt 0 ]]; then
  echo "hub-with-k8s-env-on-ferretdb: failed: ${failures[*]}"
  hub_log
fi
echo "hub-with-k8s-env-on-ferretdb: $passed passed, $failed failed"
[[ $failed == 0 ]]
