"""Replays the hub Dockerfile's first stage up to its dependency-only `cargo build` in DIR:
its COPY lines from the build context, then the commands of that RUN before `cargo build`
(the stub targets). The caller then asks cargo whether it accepts that workspace.

Run from the repository root. Usage: dockerfile_stub_replay.py DIR
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="an empty directory to build the stub workspace in")
    stub = parser.parse_args().dir

    lines = Path("Dockerfile").read_text().replace("\\\n", " ").splitlines()
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
            if dest.endswith("/"):
                target = os.path.join(stub, dest, os.path.basename(src))
            else:
                target = os.path.join(stub, dest)
            os.makedirs(os.path.dirname(target) or stub, exist_ok=True)
            shutil.copy(src, target)
    script = " && ".join(prefix)
    subprocess.run(["sh", "-ec", script], cwd=stub, check=True)
    print(f"replayed {len(copies)} COPY lines and: {script[:100]}...")


if __name__ == "__main__":
    main()
