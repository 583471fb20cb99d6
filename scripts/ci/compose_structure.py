"""Checks docker-compose.yml beyond what `docker compose config` parses: known keys only,
dependencies on healthchecks that exist, declared named volumes, ports published on loopback
only, and the project's shape (three hubs behind the network alias `hub`, the frontend's
upstream, the MongoDB healthcheck that initiates the replica set).

Usage: compose_structure.py [COMPOSE_FILE]   (default docker-compose.yml)
"""

import argparse
import re
import sys
from pathlib import Path

import yaml

TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "depends_on",
    "healthcheck", "ports", "volumes", "networks", "restart", "hostname", "read_only",
    "tmpfs", "security_opt", "cap_drop", "cap_add", "stop_grace_period", "stop_signal",
    "user", "working_dir", "labels", "logging", "deploy", "expose", "ulimits", "init",
    "pull_policy", "container_name", "profiles",
}  # fmt: skip
HUB_ENVIRONMENT = (
    "SSEHUB_LISTEN",
    "MONGODB_URI",
    "SSEHUB_PUBLISH_KEYS",
    "SSEHUB_SUBSCRIBE_KEYS",
    "SSEHUB_NODE_ID",
)
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:(\$\{[A-Z_]+:-\d+\}|\d+):\d+")


def service_errors(name: str, s: dict, services: dict, volumes: set) -> list[str]:
    errors = []
    for key in s:
        if key not in SERVICE_KEYS:
            errors.append(f"{name}: unknown key {key}")
    if "image" not in s and "build" not in s:
        errors.append(f"{name}: needs image or build")
    for dep, cond in (s.get("depends_on") or {}).items():
        if dep not in services:
            errors.append(f"{name}: depends on unknown service {dep}")
        healthy = cond.get("condition") == "service_healthy"
        if healthy and "healthcheck" not in services.get(dep, {}):
            errors.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
    hc = s.get("healthcheck")
    if hc and (not isinstance(hc.get("test"), list) or hc["test"][0] not in ("CMD", "CMD-SHELL")):
        errors.append(f"{name}: healthcheck test must be a CMD list")
    for v in s.get("volumes", []):
        src = v.split(":", 1)[0]
        if not src.startswith((".", "/")) and src not in volumes:
            errors.append(f"{name}: undeclared named volume {src}")
    for p in s.get("ports", []):
        if not LOOPBACK_PORT.fullmatch(str(p)):
            errors.append(f"{name}: publish ports on 127.0.0.1 only: {p}")
    env = s.get("environment") or {}
    if not isinstance(env, dict):
        errors.append(f"{name}: environment must be a mapping")
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default="docker-compose.yml", type=Path)
    args = parser.parse_args()

    d = yaml.safe_load(args.file.read_text())
    errors = []
    for key in d:
        if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
            errors.append(f"unknown top-level key {key}")
    services = d.get("services") or {}
    volumes = set((d.get("volumes") or {}).keys())
    for name, s in services.items():
        errors += service_errors(name, s, services, volumes)

    hubs = [n for n in services if n.startswith("hub")]
    if len(hubs) != 3:
        errors.append(f"expected three hubs, found {hubs}")
    for n in hubs:
        env = services[n]["environment"]
        for key in HUB_ENVIRONMENT:
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
    print(f"{args.file}: {len(services)} services, structure ok")


if __name__ == "__main__":
    main()
