#!/usr/bin/env bash
# Frontend CI: typecheck, lint, unit tests, build, and end-to-end tests in
# Debian's Chromium against the real ssehub binary (SSEHUB_BIN, default
# target/debug/ssehub; build it before running this script).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

apt_updated=false
apt_install() {
  if [[ $apt_updated == false ]]; then
    apt-get update
    apt_updated=true
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

if ! command -v chromium >/dev/null 2>&1; then
  echo "frontend: installing chromium (Debian package)"
  apt_install chromium
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "frontend: installing nodejs and npm (Debian packages)"
  apt_install nodejs npm
fi

export SSEHUB_BIN="${SSEHUB_BIN:-$root/target/debug/ssehub}"
if [[ ! -x "$SSEHUB_BIN" ]]; then
  echo "frontend: $SSEHUB_BIN not found; build the hub first (cargo build)" >&2
  exit 1
fi

# Plain output so the counts below can be read from the runners' summaries.
export NO_COLOR=1 FORCE_COLOR=0 CI="${CI:-true}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

passed=0
failed=0
skipped=0
# count_of WORD TEXT: the sum of every "<n> WORD" in TEXT.
count_of() {
  local total=0 n
  while read -r n; do total=$((total + n)); done < <(grep -oE "[0-9]+ $1" <<<"$2" | grep -oE '^[0-9]+')
  echo "$total"
}

# step NAME CMD...: a check that counts as one test unless its runner reports its own counts.
step() {
  local name="$1" log="$logs/$1.log" ok=true p f s=0 vt
  shift
  echo "::: frontend: $name"
  "$@" 2>&1 | tee "$log" || ok=false
  if [[ $ok == true ]]; then p=1 f=0; else p=0 f=1; fi
  # vitest: "Tests  34 passed (34)" / "Tests  1 failed | 33 passed (34)" (one line per
  # workspace run: summed); node --test: "# pass 10", "# fail 0", "# skipped 2"
  vt="$(grep -E '^ *Tests +[0-9]' "$log" || true)"
  if [[ -n $vt ]]; then
    p="$(count_of passed "$vt")"
    f="$(count_of failed "$vt")"
    s="$(count_of skipped "$vt")"
  elif grep -qE '^# pass [0-9]+' "$log"; then
    p="$(grep -E '^# pass [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')"
    f="$(grep -E '^# fail [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)"
    s="$(grep -E '^# skipped [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)"
    # a skipped e2e test names the hub feature it waits for
    grep -E '^ok .* # SKIP ' "$log" | sed 's/^/frontend: skipped: /' || true
  fi
  # a runner that failed without reporting a failed test still counts as one failure
  if [[ $ok == false && $f -eq 0 ]]; then f=1; fi
  [[ $ok == true ]] || echo "::: frontend: $name FAILED" >&2
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + ${s:-0}))
}

cd frontend
npm ci --no-audit --no-fund
step typecheck npm run typecheck
step lint npm run lint
step unit npm test
step build npm run build
# The client package: its gzip size against the budget, and its packed tarball installed into
# a fresh Vite + React app that builds (and, with SSEHUB_BIN, receives an event in Chromium).
step client-size npm run size
step client-pack npm run pack-check
if [[ -f dist/index.html ]]; then
  step e2e npm run e2e
else
  failed=$((failed + 1))
  echo "::: frontend: e2e skipped (no dist)" >&2
fi

echo "frontend: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
