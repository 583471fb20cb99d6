#!/usr/bin/env bash
# FerretDB (MongoDB wire protocol over SQLite) for the MongoDB tests.
#   scripts/ferretdb.sh install      build it once through the Go module proxy (cached in $GOBIN)
#   scripts/ferretdb.sh start DIR    start on a free 127.0.0.1 port; prints the MongoDB URI
#   scripts/ferretdb.sh stop DIR     stop the instance started in DIR
# Telemetry stays disabled: FerretDB would otherwise report to a public host.
set -euo pipefail

version=v1.24.0
gobin=$(go env GOBIN 2>/dev/null || true)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
bin="$gobin/ferretdb"

install() {
  # Capture, not `| grep -q`: grep exiting early SIGPIPEs ferretdb, and pipefail then
  # reports "not installed", which used to trigger a reinstall.
  if [ -x "$bin" ] && [[ $("$bin" --version 2>/dev/null || true) == *"${version#v}"* ]]; then
    return
  fi
  echo "installing FerretDB $version (go build, a few minutes the first time)" >&2
  # Not `go install ...@$version`: that binary panics at start ("Invalid
  # build/version/version.txt file content") because FerretDB embeds a generated
  # build/version/version.txt the module zip lacks. Build a copy with the file written.
  local src tmp
  src=$(go mod download -json "github.com/FerretDB/FerretDB@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp"
  chmod -R u+w "$tmp"
  echo "$version" >"$tmp/build/version/version.txt"
  mkdir -p "$gobin"
  (cd "$tmp" && go build -o "$bin" ./cmd/ferretdb)
  rm -rf "$tmp"
}

free_port() {
  python3 "$(dirname "${BASH_SOURCE[0]}")/lib/free_port.py"
}

start() {
  local dir=$1
  mkdir -p "$dir/data" "$dir/state"
  install
  local port
  port=${FERRETDB_PORT:-$(free_port)}
  "$bin" --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="127.0.0.1:$port" --state-dir="$dir/state" \
    --debug-addr=- --telemetry=disable --log-level=warn \
    >"$dir/ferretdb.log" 2>&1 &
  echo $! >"$dir/pid"
  echo "$port" >"$dir/port"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "mongodb://127.0.0.1:$port/"
      return
    fi
    sleep 0.1
  done
  echo "FerretDB did not start; log:" >&2
  cat "$dir/ferretdb.log" >&2
  exit 1
}

stop() {
  local dir=$1
  [ -f "$dir/pid" ] || return 0
  kill "$(cat "$dir/pid")" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$dir/pid"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?DIR}" ;;
  stop) stop "${2:?DIR}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 64 ;;
esac
