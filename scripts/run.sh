#!/usr/bin/env bash
# Runs the whole thing on this machine: builds the SPA and the hub, then serves both on
# http://127.0.0.1:8080 with the embedded store under ./data and the demo generator on.
# Extra arguments go to ssehub (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> building the SPA (frontend/dist)"
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build)

echo "==> building the hub (release)"
cargo build --release --bin ssehub

echo "==> ssehub on http://127.0.0.1:8080 (Ctrl-C stops it)"
exec target/release/ssehub --static-dir frontend/dist --demo-on-start "$@"
