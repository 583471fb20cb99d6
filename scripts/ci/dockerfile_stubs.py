"""Checks that the hub Dockerfile's dependency layer can build: it compiles against stub
targets, so every [[bench]] of Cargo.toml needs a stub (and no [[bin]], [[example]] or
[[test]] may be declared), every workspace member's Cargo.toml must be copied, and every file
the sources embed at compile time (include_str!, include_bytes!) must be inside what the
image build copies.

Run from the repository root. Usage: dockerfile_stubs.py
"""

import argparse
import glob
import os
import re
import sys
import tomllib
from pathlib import Path


def copied_paths(dockerfile: str) -> list[str]:
    """The sources of the Dockerfile's COPY lines from the build context (not --from)."""
    return [
        word.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for word in line.split()[1:-1]
    ]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with open("Cargo.toml", "rb") as f:
        manifest = tomllib.load(f)
    dockerfile = Path("Dockerfile").read_text()
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
            errors.append(
                f"Dockerfile: workspace member {member} is not copied for the dependency layer"
            )

    copied = copied_paths(dockerfile)
    sources = glob.glob("src/**/*.rs", recursive=True)
    sources += glob.glob("loadtest/src/**/*.rs", recursive=True)
    for rs in sources:
        for rel in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', Path(rs).read_text()):
            path = os.path.normpath(os.path.join(os.path.dirname(rs), rel))
            if not any(path == c or path.startswith(c + "/") for c in copied):
                errors.append(f"{rs} embeds {path}, which the Dockerfile does not copy")

    if errors:
        sys.exit("\n".join(errors))
    print("dependency-layer stubs cover every target and workspace member")


if __name__ == "__main__":
    main()
