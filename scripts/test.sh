#!/usr/bin/env bash
# Every test of ssehub, on a fresh machine: installs what the tests need (Debian packages,
# FerretDB through the Go module proxy, npm packages), then runs the checks in order.
# `.ci/run` calls exactly this. Long load tests are separate: scripts/loadtest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

passed=0
step() {
  echo
  echo "==> $1"
  shift
  "$@"
  passed=$((passed + 1))
}

step "install system packages" scripts/install-deps.sh
step "install FerretDB" scripts/ferretdb.sh install
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
step "cargo build" cargo build --workspace --bins
step "cargo test" cargo test --workspace
step "cargo doc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
step "cargo bench --no-run" cargo bench --workspace --no-run
step "frontend: typecheck, lint, unit tests, build, browser tests" scripts/ci/frontend.sh
step "load-test smoke runs" scripts/ci/loadtest-smoke.sh
step "deployment static checks" scripts/ci/deploy-checks.sh
step "deployment environment test" scripts/ci/deploy-env-test.sh

echo
echo "ssehub: ${passed} passed, 0 failed"
