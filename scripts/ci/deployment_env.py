"""Resolves the environment the Kubernetes Deployment gives the hub container, as the kubelet
would: from k8s/hub-deployment.yaml (envFrom, then env, which wins), k8s/hub-configmap.yaml
and k8s/hub-secret.yaml, plus what the image and the kubelet set (the distroless image's PATH,
HOSTNAME = the pod's name). Only MONGODB_URI and SSEHUB_LISTEN are overridden.

Writes OUT_ENV (NUL-separated NAME=VALUE, for `env -i`) and OUT_META (NAME=VALUE lines the
test reads: the shutdown grace, the probe paths, the first publish and subscribe keys, the
Deployment's own SSEHUB_LISTEN).

Run from the repository root.
Usage: deployment_env.py --pod NAME --mongodb-uri URI --listen ADDR OUT_ENV OUT_META
"""

import argparse
import base64
import sys
from pathlib import Path

import yaml

# The distroless image's PATH.
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text())


def secret_data(secret: dict) -> dict:
    data = dict(secret.get("stringData") or {})
    data.update({k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})
    return data


def write_env(path: Path, env: dict) -> None:
    """Writes NAME=VALUE entries separated by NUL (values may hold newlines)."""
    with path.open("wb") as f:
        for k, v in env.items():
            f.write(f"{k}={v}".encode() + b"\0")


def container_env(container: dict, configmaps: dict, secrets: dict, pod: str) -> dict:
    env = {"PATH": IMAGE_PATH, "HOSTNAME": pod}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            data = configmaps[source["configMapRef"]["name"]]["data"]
            env.update({prefix + k: str(v) for k, v in data.items()})
        if "secretRef" in source:
            env.update({prefix + k: v for k, v in secrets[source["secretRef"]["name"]].items()})
    fields = {"metadata.name": pod, "metadata.namespace": "ssehub", "status.podIP": "127.0.0.1"}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
            continue
        ref = item["valueFrom"]
        if "secretKeyRef" in ref:
            key = ref["secretKeyRef"]
            env[item["name"]] = secrets[key["name"]][key["key"]]
        elif "configMapKeyRef" in ref:
            key = ref["configMapKeyRef"]
            env[item["name"]] = str(configmaps[key["name"]]["data"][key["key"]])
        elif "fieldRef" in ref:
            env[item["name"]] = fields[ref["fieldRef"]["fieldPath"]]
        else:
            sys.exit(f"unsupported valueFrom in the Deployment: {ref}")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pod", required=True, help="the pod name (HOSTNAME, metadata.name)")
    parser.add_argument("--mongodb-uri", required=True)
    parser.add_argument("--listen", required=True, help="host:port for SSEHUB_LISTEN")
    parser.add_argument("out_env", type=Path)
    parser.add_argument("out_meta", type=Path)
    args = parser.parse_args()

    deployment = load("k8s/hub-deployment.yaml")
    configmap = load("k8s/hub-configmap.yaml")
    secret = load("k8s/hub-secret.yaml")
    configmaps = {configmap["metadata"]["name"]: configmap}
    secrets = {secret["metadata"]["name"]: secret_data(secret)}

    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container, configmaps, secrets, args.pod)
    deployed_listen = env.get("SSEHUB_LISTEN", "")
    # The only two overrides.
    env["MONGODB_URI"] = args.mongodb_uri
    env["SSEHUB_LISTEN"] = args.listen
    write_env(args.out_env, env)

    probes = {
        p: container.get(p, {}).get("httpGet", {}).get("path", "")
        for p in ("livenessProbe", "readinessProbe", "startupProbe")
    }
    meta = {
        "GRACE": env.get("SSEHUB_SHUTDOWN_GRACE_SECS", "10"),
        "LIVE_PATH": probes["livenessProbe"],
        "READY_PATH": probes["readinessProbe"],
        "STARTUP_PATH": probes["startupProbe"],
        "PUBLISH_KEY": env.get("SSEHUB_PUBLISH_KEYS", "").split(",")[0],
        "SUBSCRIBE_KEY": env.get("SSEHUB_SUBSCRIBE_KEYS", "").split(",")[0],
        "DEPLOYED_LISTEN": deployed_listen,
    }
    args.out_meta.write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
    print("environment: " + " ".join(sorted(env)))


if __name__ == "__main__":
    main()
