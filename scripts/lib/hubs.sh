# shellcheck shell=bash
# shellcheck disable=SC2154  # hub_bin is set by the script that sources this file
# Hub processes for the load-test scripts (sourced, not run): free ports, starting a hub and
# waiting until it is live, and stopping everything started (plus a FerretDB in
# $ferret_dir) on exit. The caller sets $hub_bin before starting hubs.

hubs_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pids=()
ferret_dir=""

# cleanup: stops every hub started so far, and FerretDB if one was started.
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  if [ -n "$ferret_dir" ]; then
    scripts/ferretdb.sh stop "$ferret_dir" || true
    ferret_dir=""
  fi
}
trap cleanup EXIT

free_port() {
  python3 "$hubs_lib_dir/free_port.py"
}

# self_signed_cert DIR : a certificate for localhost and 127.0.0.1 with its key, as README shows
# (DIR/cert.pem, DIR/key.pem).
self_signed_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
}

# spawn_hub LOG PORT ARGS... : starts a hub on PORT, appending to LOG; sets $pid.
spawn_hub() {
  local log=$1 at=$2
  shift 2
  "$hub_bin" --listen "127.0.0.1:$at" "$@" >>"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
}

# launch_hub LOG PORT ARGS... : spawn_hub, then waits until the hub is live (over TLS when
# ARGS carry --tls-cert).
launch_hub() {
  local log=$1 at=$2 arg previous="" probe=()
  for arg in "$@"; do
    if [ "$previous" = --tls-cert ]; then
      probe=(--tls-cert "$arg")
    fi
    previous=$arg
  done
  spawn_hub "$@"
  for _ in $(seq 1 100); do
    if "$hub_bin" --listen "127.0.0.1:$at" "${probe[@]}" healthcheck >/dev/null 2>&1; then
      return
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the hub did not become live; log $log:" >&2
  cat "$log" >&2
  exit 1
}
