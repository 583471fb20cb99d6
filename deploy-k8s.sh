#!/usr/bin/env bash
# Build both images and deploy ssehub (MongoDB replica set, hubs, SPA, Ingress) to the
# current kubectl context. See docs/DEPLOY.md.
#
#   ./deploy-k8s.sh
#
# Environment:
#   REGISTRY     push the images to this registry prefix (e.g. registry.example.com/team);
#                without it the images stay local and are loaded into kind or minikube
#                when the current context is one of those
#   TAG          image tag (default: the git commit, else 0.1.0)
#   SKIP_BUILD=1 use images that were already built with the same names
#   TIMEOUT      how long to wait for each rollout (default 10m)
#   RENDER_ONLY=DIR  write the manifests this script would apply (apply.yaml, phase1.yaml) to
#                DIR and stop: no docker, no cluster, every Secret generated (the CI checks
#                use this); KUSTOMIZE=path renders with that kustomize instead of kubectl
#
# Secrets: a Secret that does not exist in the cluster yet is created with freshly generated
# random values in place of the REPLACE_ME placeholders in k8s/; one that exists is left as it
# is (rotate keys as docs/DEPLOY.md describes). Nothing generated is written to disk.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

namespace=ssehub
timeout="${TIMEOUT:-10m}"

say() { printf '\n==> %s\n' "$*"; }
die() {
  printf 'deploy-k8s: %s\n' "$*" >&2
  exit 1
}

render_only="${RENDER_ONLY:-}"
kustomize="${KUSTOMIZE:-}"
if [[ -z $render_only ]]; then
  for tool in kubectl docker; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required but not installed"
  done
  kubectl version --request-timeout=10s >/dev/null 2>&1 ||
    die "kubectl cannot reach a cluster (context: $(kubectl config current-context 2>/dev/null || echo none))"
  context=$(kubectl config current-context)
elif [[ -z $kustomize ]]; then
  command -v kubectl >/dev/null 2>&1 || die "RENDER_ONLY needs kubectl or KUSTOMIZE=path/to/kustomize"
fi

tag="${TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo 0.1.0)}"
prefix="${REGISTRY:+${REGISTRY%/}/}"
hub_image="${prefix}ssehub:$tag"
frontend_image="${prefix}ssehub-frontend:$tag"

# --- images -------------------------------------------------------------------------------------
if [[ -n $render_only ]]; then
  : # no images
elif [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  docker info >/dev/null 2>&1 || die "docker is installed but its daemon is not reachable"
  say "building $hub_image"
  DOCKER_BUILDKIT=1 docker build -t "$hub_image" -f Dockerfile .
  say "building $frontend_image"
  DOCKER_BUILDKIT=1 docker build -t "$frontend_image" -f frontend/Dockerfile .
fi

if [[ -n $render_only ]]; then
  : # nothing to push or load
elif [[ -n $prefix ]]; then
  say "pushing to $REGISTRY"
  docker push "$hub_image"
  docker push "$frontend_image"
else
  case "$context" in
    kind-*)
      command -v kind >/dev/null 2>&1 || die "context $context is kind, but the kind CLI is missing"
      say "loading the images into kind cluster ${context#kind-}"
      kind load docker-image --name "${context#kind-}" "$hub_image" "$frontend_image"
      ;;
    minikube)
      say "loading the images into minikube"
      minikube image load "$hub_image"
      minikube image load "$frontend_image"
      ;;
    docker-desktop | rancher-desktop | orbstack)
      : # the cluster uses the local Docker images
      ;;
    *)
      echo "note: context $context may not see local images; set REGISTRY to push them" >&2
      ;;
  esac
fi

# --- render ---------------------------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0700 "$tmp"

say "rendering k8s/"
if [[ -n $kustomize ]]; then
  "$kustomize" build k8s/ >"$tmp/all.yaml"
else
  kubectl kustomize k8s/ >"$tmp/all.yaml"
fi
sed -i.bak -E \
  -e "s#^([[:space:]]*image: )ssehub:[^[:space:]]+\$#\\1$hub_image#" \
  -e "s#^([[:space:]]*image: )ssehub-frontend:[^[:space:]]+\$#\\1$frontend_image#" \
  "$tmp/all.yaml"

# drop KIND/NAME...: the rendered documents except the named objects
drop() {
  awk -v drop=" $* " '
    function flush() {
      if (doc != "" && index(drop, " " kind "/" name " ") == 0) printf "---\n%s", doc
      doc = ""; kind = ""; name = ""; meta = 0
    }
    /^---[[:space:]]*$/ { flush(); next }
    {
      doc = doc $0 "\n"
      if ($0 ~ /^kind:/) kind = $2
      if ($0 ~ /^metadata:/) meta = 1
      else if ($0 ~ /^[^[:space:]]/) meta = 0
      if (meta && name == "" && $0 ~ /^  name:/) name = $2
    }
    END { flush() }
  '
}

exists() { [[ -z $render_only ]] && kubectl -n "$namespace" get "$1" >/dev/null 2>&1; }

# keep_replicas NAME COUNT: the rendered Deployment NAME gets spec.replicas COUNT (so that a
# re-deploy does not undo what the HPA scaled to).
keep_replicas() {
  awk -v want="Deployment/$1" -v count="$2" '
    /^---[[:space:]]*$/ { kind = ""; name = ""; meta = 0 }
    /^kind:/ { kind = $2 }
    /^metadata:/ { meta = 1 }
    /^[^[:space:]]/ && !/^metadata:/ { meta = 0 }
    meta && name == "" && /^  name:/ { name = $2 }
    kind "/" name == want && /^  replicas: [0-9]+$/ { print "  replicas: " count; next }
    { print }
  '
}
hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

keep=()
if exists secret/ssehub-secrets; then keep+=(Secret/ssehub-secrets); fi
if exists secret/mongodb-auth; then keep+=(Secret/mongodb-auth); fi
if exists secret/mongodb-keyfile; then keep+=(Secret/mongodb-keyfile); fi
has_hub_secret=no
has_auth_secret=no
if [[ " ${keep[*]} " == *" Secret/ssehub-secrets "* ]]; then has_hub_secret=yes; fi
if [[ " ${keep[*]} " == *" Secret/mongodb-auth "* ]]; then has_auth_secret=yes; fi
if [[ $has_hub_secret != "$has_auth_secret" ]]; then
  die "only one of the Secrets ssehub-secrets and mongodb-auth exists; they share the MongoDB application password. Delete the other one too, or create it by hand (docs/DEPLOY.md)"
fi
if [[ ${#keep[@]} -gt 0 ]]; then
  say "keeping the existing ${keep[*]}"
fi
publish_key="pub-$(hex 24)"
subscribe_key="sub-$(hex 24)"
keyfile=$(head -c 756 /dev/urandom | base64 | tr -d '\n')
sed -i.bak \
  -e "s#REPLACE_ME_PUBLISH_KEY#$publish_key#g" \
  -e "s#REPLACE_ME_SUBSCRIBE_KEY#$subscribe_key#g" \
  -e "s#REPLACE_ME_TOKEN_SECRET_AT_LEAST_16_BYTES#tok-$(hex 32)#g" \
  -e "s#REPLACE_ME_MONGO_APP_PASSWORD#app-$(hex 24)#g" \
  -e "s#REPLACE_ME_MONGO_ROOT_PASSWORD#root-$(hex 24)#g" \
  -e "s#REPLACEMEMONGOKEYFILEbase64openssl0rand0base64x756#$keyfile#g" \
  "$tmp/all.yaml"
rm -f "$tmp/all.yaml.bak"
drop "${keep[@]}" <"$tmp/all.yaml" >"$tmp/apply.yaml"
if exists deployment/ssehub; then
  replicas=$(kubectl -n "$namespace" get deployment ssehub -o jsonpath='{.spec.replicas}')
  if [[ $replicas =~ ^[0-9]+$ && $replicas -gt 3 ]]; then
    echo "keeping the hub's current $replicas replicas (HPA)"
    keep_replicas ssehub "$replicas" <"$tmp/apply.yaml" >"$tmp/apply.tmp"
    mv "$tmp/apply.tmp" "$tmp/apply.yaml"
  fi
fi
if grep -q REPLACE "$tmp/apply.yaml"; then
  die "a REPLACE_ME placeholder was left unreplaced in the rendered manifests"
fi
drop Deployment/ssehub HorizontalPodAutoscaler/ssehub Deployment/ssehub-frontend Ingress/ssehub \
  <"$tmp/apply.yaml" >"$tmp/phase1.yaml"
if [[ -n $render_only ]]; then
  mkdir -p "$render_only"
  cp "$tmp/apply.yaml" "$tmp/phase1.yaml" "$render_only/"
  echo "rendered $render_only/apply.yaml and $render_only/phase1.yaml (not applied)"
  exit 0
fi

# --- apply: the database first, then the hubs -----------------------------------------------------
if ! kubectl get ingressclass nginx >/dev/null 2>&1; then
  echo "note: no IngressClass 'nginx' (ingress-nginx); the Ingress will not route until one exists" >&2
fi
if ! kubectl get apiservice v1beta1.metrics.k8s.io >/dev/null 2>&1; then
  echo "note: no metrics API (metrics-server); the HPA cannot scale without it" >&2
fi

if exists job/mongodb-init; then
  # A Job's pod template is immutable, and re-running it is harmless (it is idempotent).
  kubectl -n "$namespace" delete job mongodb-init --wait=true
fi

say "applying MongoDB and the settings (phase 1)"
kubectl apply -f "$tmp/phase1.yaml"
kubectl -n "$namespace" rollout status statefulset/mongodb --timeout="$timeout"
say "waiting for the replica set (job/mongodb-init)"
if ! kubectl -n "$namespace" wait --for=condition=complete job/mongodb-init --timeout="$timeout"; then
  kubectl -n "$namespace" logs job/mongodb-init --tail=50 >&2 || true
  die "mongodb-init did not complete"
fi

say "applying the hubs, the SPA and the Ingress (phase 2)"
hub_existed=no
if exists deployment/ssehub; then hub_existed=yes; fi
kubectl apply -f "$tmp/apply.yaml"
if [[ $hub_existed == yes ]]; then
  # A changed ConfigMap or Secret does not restart pods by itself.
  kubectl -n "$namespace" rollout restart deployment/ssehub >/dev/null
fi
kubectl -n "$namespace" rollout status deployment/ssehub --timeout="$timeout"
kubectl -n "$namespace" rollout status deployment/ssehub-frontend --timeout="$timeout"

# --- where it is ----------------------------------------------------------------------------------
address=$(kubectl -n "$namespace" get ingress ssehub \
  -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}' 2>/dev/null || true)
say "ssehub is deployed (namespace $namespace, images $hub_image, $frontend_image)"
if [[ -n $address ]]; then
  echo "URL:  http://$address/"
else
  echo "The Ingress has no address yet (check: kubectl -n $namespace get ingress ssehub)."
  echo "Meanwhile: kubectl -n $namespace port-forward svc/ssehub-frontend 8080:8080"
  echo "      then open http://127.0.0.1:8080/ (the SPA's nginx proxies /api to the hubs)"
fi
cat <<EOF

Keys (type one into the SPA's "API key" field; send as X-API-Key):
  publish:   kubectl -n $namespace get secret ssehub-secrets -o jsonpath='{.data.SSEHUB_PUBLISH_KEYS}' | base64 -d; echo
  subscribe: kubectl -n $namespace get secret ssehub-secrets -o jsonpath='{.data.SSEHUB_SUBSCRIBE_KEYS}' | base64 -d; echo
Metrics stay inside the cluster: kubectl -n $namespace port-forward deploy/ssehub 9090:8080, then http://127.0.0.1:9090/metrics
EOF
