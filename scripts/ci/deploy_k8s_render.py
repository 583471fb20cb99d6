"""Checks what `RENDER_ONLY=DIR deploy-k8s.sh` rendered into DIR (apply.yaml, phase1.yaml).

No placeholder survives; the generated secrets agree with each other (the MongoDB URI's
password is the app user's); keys and the keyfile look generated; every image comes from
REGISTRY and TAG; phase 1 holds back exactly what waits for MongoDB to be initialised.

Usage: deploy_k8s_render.py --registry REGISTRY --tag TAG DIR
"""

import argparse
import base64
import re
import sys
import urllib.parse
from pathlib import Path

import yaml

# Applied only in phase 2, once the replica set is initiated.
HELD_BACK = {
    ("Deployment", "ssehub"),
    ("Deployment", "ssehub-frontend"),
    ("HorizontalPodAutoscaler", "ssehub"),
    ("Ingress", "ssehub"),
}


def load(path: Path) -> dict:
    return {
        (d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(path.read_text()) if d
    }


def secret_data(secret: dict) -> dict:
    data = dict(secret.get("stringData") or {})
    data.update({k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="REGISTRY given to deploy-k8s.sh")
    parser.add_argument("--tag", required=True, help="TAG given to deploy-k8s.sh")
    parser.add_argument("dir", type=Path, help="RENDER_ONLY directory")
    args = parser.parse_args()

    apply, phase1 = load(args.dir / "apply.yaml"), load(args.dir / "phase1.yaml")
    text = (args.dir / "apply.yaml").read_text()
    errors = []
    if "REPLACE" in text:
        errors.append("a placeholder survived")

    hub = secret_data(apply[("Secret", "ssehub-secrets")])
    auth = secret_data(apply[("Secret", "mongodb-auth")])
    key = secret_data(apply[("Secret", "mongodb-keyfile")])
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
    want_images = {
        f"{args.registry}/ssehub:{args.tag}",
        f"{args.registry}/ssehub-frontend:{args.tag}",
        "mongo:7.0",
    }
    if images != want_images:
        errors.append(f"images not set from REGISTRY/TAG: {sorted(images)}")
    held_back = set(apply) - set(phase1)
    if held_back != HELD_BACK:
        errors.append(
            f"phase 1 should hold back exactly {sorted(HELD_BACK)}, holds back {sorted(held_back)}"
        )

    if errors:
        sys.exit("\n".join(errors))
    print(
        f"deploy-k8s.sh renders {len(apply)} objects (phase 1: {len(phase1)}), "
        "secrets generated and consistent"
    )


if __name__ == "__main__":
    main()
