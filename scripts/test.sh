#!/usr/bin/env bash
# Every test of ssehub, on a fresh Debian machine, as root (apt, and one test mounts a tmpfs).
# Each part installs what it needs (Debian packages, FerretDB through the Go module proxy, npm
# packages, Python tools in venvs under ~/.cache/ssehub-ci), then runs its steps.
#
#   scripts/test.sh            every part, in this order (what .ci/run calls)
#   scripts/test.sh PART...    only these parts
#
#   lint      cargo fmt --check, clippy -D warnings, ruff check and ruff format --check on every
#             *.py, shellcheck on every *.sh
#   rust      cargo test --workspace -- --include-ignored (the ignored tests need what this
#             script provides: root, FerretDB, Go), cargo doc -D warnings, the benches compiled
#             (dev profile)
#   api       the hub against its OpenAPI document, with schemathesis, ~70 s
#             (scripts/ci/openapi-conformance.sh)
#   frontend  typecheck, lint, unit tests, build, browser tests in Debian's Chromium
#             (scripts/ci/frontend.sh)
#   loadtest  short runs of every ssehub-loadtest scenario (scripts/ci/loadtest-smoke.sh)
#   deploy    static checks of the manifests, Dockerfiles, nginx and compose files
#             (scripts/ci/deploy-static-checks.sh), then the hub with the Kubernetes
#             Deployment's environment against FerretDB (scripts/ci/hub-with-k8s-env-on-ferretdb.sh)
#
# A failed step does not stop the others. Prints one line per part (steps passed and failed,
# time taken) and a closing total; exits 1 when any step failed.
#
#   SSEHUB_BIN, SSEHUB_LOADTEST_BIN   test these binaries instead of building target/debug/ssehub
#                                     and target/debug/ssehub-loadtest
#
# Long load runs are separate: scripts/loadtest.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TERM_COLOR=never

all_parts=(lint rust api frontend loadtest deploy)
ruff_version=0.17.6

target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir=$root/$target_dir

# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh

# ---------------------------------------------------------------------------------------------
# Steps and their tally. Parts run with errexit off (see run_part): every command that can
# fail runs through `step`, which records its outcome.

part=""
part_passed=0
part_failed=0
total_passed=0
total_failed=0
failures=()
summary=()

# step NAME CMD... : runs one step, records whether it passed; returns its status.
step() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo
  echo "==> $part: $name"
  "$@" || rc=$?
  if [[ $rc == 0 ]]; then
    part_passed=$((part_passed + 1))
    echo "--- $part: $name: ok ($((SECONDS - start)) s)"
  else
    fail_step "$name" "exit $rc, $((SECONDS - start)) s"
  fi
  return "$rc"
}

# fail_step NAME WHY : records a failed step.
fail_step() {
  part_failed=$((part_failed + 1))
  failures+=("$part: $1")
  echo "--- $part: $1: FAILED ($2)"
}

# run_part NAME : runs part_NAME and records its line of the summary.
run_part() {
  local start=$SECONDS
  part=$1
  part_passed=0
  part_failed=0
  # errexit off inside the part: a failed step is recorded and the next one runs.
  "part_$1" || true
  total_passed=$((total_passed + part_passed))
  total_failed=$((total_failed + part_failed))
  summary+=("$(printf '%-9s %3d passed, %d failed  %s' "$part" "$part_passed" "$part_failed" \
    "$(duration $((SECONDS - start)))")")
  echo
  echo "=== ${summary[-1]}"
}

duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# ---------------------------------------------------------------------------------------------
# Binaries under test: SSEHUB_BIN / SSEHUB_LOADTEST_BIN when given, else built once per run (a
# step of the first part that needs them). A part whose binary did not build skips the steps
# that need it and fails, rather than testing a stale binary from an earlier build.

declare -A bin_state=()

# need_bin VAR PACKAGE BIN : sets and exports VAR to the binary BIN of PACKAGE; 1 if unbuildable.
need_bin() {
  local var=$1 package=$2 bin=$3
  if [[ -z ${bin_state[$var]:-} ]]; then
    if [[ -n ${!var:-} ]]; then
      bin_state[$var]=given
    elif step "cargo build --bin $bin" cargo build -p "$package" --bin "$bin"; then
      bin_state[$var]=built
      export "$var=$target_dir/debug/$bin"
    else
      bin_state[$var]=failed
      return 1
    fi
  fi
  if [[ ${bin_state[$var]} == failed ]]; then
    fail_step "$bin binary" "its build failed above; the steps that run it are skipped"
    return 1
  fi
}

need_hub() { need_bin SSEHUB_BIN ssehub ssehub; }
need_loadtest() { need_bin SSEHUB_LOADTEST_BIN ssehub-loadtest ssehub-loadtest; }

# FerretDB, and what scripts/ferretdb.sh needs: Go to build it, python3 to pick a free port.
install_ferretdb() {
  scripts/install-debian-packages.sh golang-go python3 && scripts/ferretdb.sh install
}

# ---------------------------------------------------------------------------------------------
# The parts.

part_lint() {
  step "install shellcheck (Debian), ruff (venv)" install_lint_tools
  step "cargo fmt --check" cargo fmt --all -- --check
  step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
  step "ruff check" "$ssehub_ci_cache/ruff/bin/ruff" check .
  step "ruff format --check" "$ssehub_ci_cache/ruff/bin/ruff" format --check .
  step "shellcheck" shellcheck_all
}

install_lint_tools() {
  scripts/install-debian-packages.sh shellcheck && python_venv ruff "ruff==$ruff_version" >/dev/null
}

# Every *.sh of the repository (not node_modules, not target), from the root so that
# `# shellcheck source=scripts/lib/...` resolves.
shellcheck_all() {
  local -a scripts
  mapfile -t scripts < <(find . \( -name node_modules -o -name target -o -name .git \) -prune \
    -o -type f -name '*.sh' -print | sort)
  shellcheck -x "${scripts[@]}" && echo "${#scripts[@]} scripts clean"
}

part_rust() {
  step "install FerretDB (Go module proxy)" install_ferretdb
  step "cargo test --workspace -- --include-ignored" cargo test --workspace -- --include-ignored
  step "cargo doc -D warnings" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
  # The benches compile in the dev profile, on the dependencies the tests just built: a
  # `cargo bench --no-run` rebuilds everything optimised (9 of this part's 18 minutes) to
  # prove no more. `cargo bench` runs them for real.
  step "benches compile" cargo build --workspace --benches
}

part_api() {
  need_hub || return 0
  step "schemathesis: the hub against its OpenAPI document" scripts/ci/openapi-conformance.sh
}

part_frontend() {
  need_hub || return 0
  step "typecheck, lint, unit tests, build, browser tests" scripts/ci/frontend.sh
}

part_loadtest() {
  step "install FerretDB (Go module proxy)" install_ferretdb
  need_hub || return 0
  need_loadtest || return 0
  step "smoke runs of every ssehub-loadtest scenario" scripts/ci/loadtest-smoke.sh
}

part_deploy() {
  step "install nginx, curl, shellcheck (Debian), FerretDB" install_deploy_tools
  step "static checks: manifests, Dockerfiles, nginx, compose" scripts/ci/deploy-static-checks.sh
  need_hub || return 0
  step "the hub with the Deployment's environment against FerretDB" \
    scripts/ci/hub-with-k8s-env-on-ferretdb.sh
}

install_deploy_tools() {
  scripts/install-debian-packages.sh nginx curl shellcheck && install_ferretdb
}

# ---------------------------------------------------------------------------------------------

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=("${all_parts[@]}")
for p in "${parts[@]}"; do
  if [[ " ${all_parts[*]} " != *" $p "* ]]; then
    echo "unknown part '$p'; parts: ${all_parts[*]} (none: all of them)" >&2
    exit 64
  fi
done

start=$SECONDS
for p in "${parts[@]}"; do
  run_part "$p"
done

echo
echo "==> summary"
printf '%s\n' "${summary[@]}"
echo "total time $(duration $((SECONDS - start)))"
if [[ $total_failed -gt 0 ]]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "ssehub: $total_passed passed, $total_failed failed"
[[ $total_failed == 0 ]]
