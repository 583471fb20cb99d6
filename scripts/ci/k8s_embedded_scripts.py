"""Writes the shell scripts embedded in the k8s/ workloads (a container `command` of
`sh -c SCRIPT` or `bash -ec SCRIPT`) into DIR as MANIFEST-CONTAINER.sh or .bash, with a
shebang carrying the other flags, for shellcheck; and the mongosh `--eval '...'` JavaScript in
them as MANIFEST-CONTAINER-N.js, for `node --check`.

Run from the repository root. Usage: k8s_embedded_scripts.py DIR
"""

import argparse
import glob
import os
import re
from pathlib import Path

import yaml

WORKLOADS = ("Deployment", "StatefulSet", "Job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="where to write the scripts")
    out = parser.parse_args().dir

    n = 0
    for path in sorted(glob.glob("k8s/*.yaml")):
        for d in yaml.safe_load_all(Path(path).read_text()):
            if not d or "spec" not in d or d["kind"] not in WORKLOADS:
                continue
            spec = d["spec"]["template"]["spec"]
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                cmd = c.get("command", [])
                if len(cmd) < 3 or cmd[0] not in ("sh", "bash"):
                    continue
                if not re.fullmatch(r"-[a-z]*c", cmd[1]):
                    continue
                n += 1
                base = f"{out}/{os.path.basename(path)[:-5]}-{c['name']}"
                flags = "".join(ch for ch in cmd[1][1:] if ch != "c")
                shebang = f"#!/bin/{cmd[0]}" + (f" -{flags}" if flags else "")
                Path(f"{base}.{cmd[0]}").write_text(shebang + "\n" + cmd[2])
                for i, js in enumerate(re.findall(r"--eval '([^']*)'", cmd[2])):
                    Path(f"{base}-{i}.js").write_text(js)
    print(f"{n} embedded scripts")


if __name__ == "__main__":
    main()
