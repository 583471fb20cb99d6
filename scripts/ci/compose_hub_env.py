"""Writes the environment docker-compose.yml gives its service hub1, for `env -i`: its
`${VAR:-default}`s resolved to the defaults, the image's PATH and HOSTNAME added, and the same
two overrides as the Deployment test (MONGODB_URI, SSEHUB_LISTEN). NUL-separated NAME=VALUE.

Run from the repository root.
Usage: compose_hub_env.py --mongodb-uri URI --listen ADDR OUT
"""

import argparse
import re
from pathlib import Path

import yaml

from deployment_env import IMAGE_PATH, write_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongodb-uri", required=True)
    parser.add_argument("--listen", required=True, help="host:port for SSEHUB_LISTEN")
    parser.add_argument("out", type=Path, help="where to write the environment")
    args = parser.parse_args()

    hub = yaml.safe_load(Path("docker-compose.yml").read_text())["services"]["hub1"]
    env = {"PATH": IMAGE_PATH, "HOSTNAME": "hub1"}
    for k, v in hub["environment"].items():
        env[k] = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(v))
    env["MONGODB_URI"] = args.mongodb_uri
    env["SSEHUB_LISTEN"] = args.listen
    write_env(args.out, env)


if __name__ == "__main__":
    main()
