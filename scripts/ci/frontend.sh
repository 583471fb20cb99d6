#!/usr/bin/env bash
# Frontend CI: typecheck, lint, unit tests, build, and end-to-end tests in
# Debian's Chromium against the real ssehub binary (SSEHUB_BIN, default
# target/debug/ssehub; build it before running this script).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if ! command -v chromium >/dev/null 2>&1; then
  echo "frontend: installing chromium (Debian package)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "frontend: installing nodejs and npm (Debian packages)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi

export SSEHUB_BIN="${SSEHUB_BIN:-$root/target/debug/ssehub}"
if [[ ! -x "$SSEHUB_BIN" ]]; then
  echo "frontend: $SSEHUB_BIN not found; build the hub first (cargo build)" >&2
  exit 1
fi

passed=0
failed=0
step() {
  local name="$1"
  shift
  echo "::: frontend: $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "::: frontend: $name FAILED" >&2
  fi
}

cd frontend
npm ci --no-audit --no-fund
step typecheck npm run typecheck
step lint npm run lint
step "unit tests" npm test
step build npm run build
if [[ -f dist/index.html ]]; then
  step e2e npm run e2e
else
  failed=$((failed + 1))
  echo "::: frontend: e2e skipped (no dist)" >&2
fi

echo "frontend: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
