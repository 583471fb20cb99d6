"""Checks the k8s/ manifests for what their schemas cannot say: one object per file, all
listed in the kustomization; hardened workloads (non-root, read-only root, no privilege
escalation, all capabilities dropped, resources); the hub's probes, secrets only through
secretKeyRef, ConfigMap keys the hub knows, drain timing inside the pod's grace, consistent
placeholder secrets; HPA 3-10 on CPU, PDBs, the MongoDB replica set, an SSE-safe Ingress that
never routes /metrics, two frontend replicas.

Run from the repository root (reads k8s/*.yaml and src/config.rs). Usage: k8s_policy.py
"""

import argparse
import base64
import glob
import os
import re
import sys
import urllib.parse
from pathlib import Path

import yaml

REQUIRED_KINDS = {
    "Namespace", "Secret", "ConfigMap", "StatefulSet", "Service", "Job", "Deployment",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress",
}  # fmt: skip
WORKLOADS = ("Deployment", "StatefulSet", "Job")
# A literal env value with one of these in its name is a credential that belongs in a Secret.
CREDENTIAL_NAME = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|URI")


def secret_data(secret: dict) -> dict:
    out = dict(secret.get("stringData") or {})
    for k, v in (secret.get("data") or {}).items():
        out[k] = base64.b64decode(v).decode()
    return out


class Policy:
    """The manifests of k8s/ by (kind, name), and the violations found so far."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.objs: dict[tuple[str, str], tuple[str, dict]] = {}
        self.kustomization: dict = {}
        for path in sorted(glob.glob("k8s/*.yaml")):
            docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d is not None]
            if os.path.basename(path) == "kustomization.yaml":
                self.kustomization = docs[0]
                continue
            if len(docs) != 1:
                self.fail(f"{path}: one object per file, found {len(docs)}")
                continue
            d = docs[0]
            self.objs[(d["kind"], d["metadata"]["name"])] = (path, d)

    def fail(self, msg: str) -> None:
        self.errors.append(msg)

    def lookup(self, kind: str, name: str) -> dict | None:
        """The object, or None (no violation: the caller already asked with get)."""
        return self.objs.get((kind, name), ("", None))[1]

    def get(self, kind: str, name: str) -> dict | None:
        if (kind, name) not in self.objs:
            self.fail(f"missing {kind}/{name}")
            return None
        return self.objs[(kind, name)][1]

    def check_inventory(self) -> None:
        """The kustomization lists every manifest and nothing else; every kind is there."""
        listed = set(self.kustomization.get("resources", []))
        present = {os.path.basename(p) for p, _ in self.objs.values()}
        for missing in sorted(present - listed):
            self.fail(f"kustomization.yaml does not list {missing}")
        for extra in sorted(listed - present):
            self.fail(f"kustomization.yaml lists {extra}, which is not in k8s/")
        for kind in sorted(REQUIRED_KINDS - {k for k, _ in self.objs}):
            self.fail(f"no {kind} in k8s/")

    def check_workloads(self) -> None:
        """Every workload: hardened pod and containers, resources, no literal credentials."""
        for (kind, _), (path, d) in self.objs.items():
            if kind not in WORKLOADS:
                continue
            spec = d["spec"]["template"]["spec"]
            psc = spec.get("securityContext", {})
            if psc.get("runAsNonRoot") is not True:
                self.fail(f"{path}: pod securityContext.runAsNonRoot must be true")
            if spec.get("automountServiceAccountToken") is not False:
                self.fail(f"{path}: automountServiceAccountToken should be false")
            for c in spec.get("initContainers", []) + spec["containers"]:
                self.check_container(f"{path}: container {c['name']}", c)

    def check_container(self, where: str, c: dict) -> None:
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            self.fail(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.fail(f"{where}: readOnlyRootFilesystem must be true")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            self.fail(f"{where}: must drop ALL capabilities")
        res = c.get("resources", {})
        if "requests" not in res or "memory" not in res.get("limits", {}):
            self.fail(f"{where}: needs resource requests and a memory limit")
        for e in c.get("env", []):
            if "value" in e and CREDENTIAL_NAME.search(e["name"]):
                self.fail(f"{where}: {e['name']} is a literal; credentials come from a Secret")

    def check_hub(self) -> None:
        hub = self.get("Deployment", "ssehub")
        config = self.get("ConfigMap", "ssehub-config")
        secret = self.get("Secret", "ssehub-secrets")
        if not (hub and config and secret):
            return
        spec = hub["spec"]["template"]["spec"]
        c = spec["containers"][0]
        if hub["spec"].get("replicas") != 3:
            self.fail("hub Deployment: replicas must be 3")
        probes = {
            p: c.get(p, {}).get("httpGet", {}).get("path")
            for p in ("readinessProbe", "livenessProbe")
        }
        if probes != {"readinessProbe": "/health/ready", "livenessProbe": "/health/live"}:
            self.fail(
                "hub Deployment: probes must be readiness /health/ready, "
                f"liveness /health/live: {probes}"
            )

        env = {e["name"]: e for e in c.get("env", [])}
        uri = env.get("MONGODB_URI", {}).get("valueFrom", {}).get("secretKeyRef", {})
        if uri.get("name") != "ssehub-secrets":
            self.fail("hub Deployment: MONGODB_URI must come from the ssehub-secrets Secret")
        data = secret_data(secret)
        for e in env.values():
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] == "ssehub-secrets" and ref["key"] not in data:
                self.fail(f"hub Deployment: {e['name']} refers to missing Secret key {ref['key']}")
        for ref in c.get("envFrom", []):
            if "secretRef" in ref:
                self.fail(
                    "hub Deployment: name each secret key (secretKeyRef), no envFrom secretRef"
                )
        settings = dict(config["data"])
        for key in list(settings) + list(data):
            if key in env and "value" in env[key]:
                self.fail(
                    f"hub Deployment: {key} set both in the Deployment and the ConfigMap/Secret"
                )
        self.check_known_settings(settings, data)

        if not settings.get("SSEHUB_LISTEN", "").startswith("0.0.0.0:"):
            self.fail("ConfigMap: SSEHUB_LISTEN must be 0.0.0.0:<port> in a pod")
        port = int(settings.get("SSEHUB_LISTEN", ":0").rsplit(":", 1)[1])
        if [p["containerPort"] for p in c.get("ports", [])] != [port]:
            self.fail(f"hub Deployment: containerPort must be the SSEHUB_LISTEN port {port}")

        # Drain timing: preStop sleep, then SIGTERM and the hub's grace, all inside the pod's.
        pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        drain = int(settings.get("SSEHUB_SHUTDOWN_GRACE_SECS", "10"))
        tgp = spec.get("terminationGracePeriodSeconds", 30)
        if pre <= 0:
            self.fail("hub Deployment: needs a preStop delay")
        if not tgp > pre + drain:
            self.fail(
                f"hub Deployment: terminationGracePeriodSeconds {tgp} must exceed "
                f"preStop {pre} + drain {drain}"
            )
        tsc = spec.get("topologySpreadConstraints", [])
        if not any(t["topologyKey"] == "kubernetes.io/hostname" for t in tsc):
            self.fail("hub Deployment: needs a topologySpreadConstraint across nodes")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        if "/tmp" not in mounts:
            self.fail("hub Deployment: needs an emptyDir at /tmp (read-only root filesystem)")
        if not settings.get("SSEHUB_DATA_DIR", "/tmp").startswith("/tmp"):
            self.fail("ConfigMap: SSEHUB_DATA_DIR must be on the writable /tmp emptyDir")
        self.check_placeholders(data)

    def check_known_settings(self, settings: dict, data: dict) -> None:
        """Every ConfigMap and Secret key is a setting the hub knows (a typo would be ignored)."""
        if not os.path.exists("src/config.rs"):
            return
        known = set(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', Path("src/config.rs").read_text()))
        known.add("SSEHUB_LOG")
        for key in settings:
            if key not in known:
                self.fail(
                    f"ConfigMap ssehub-config: {key} is not an environment variable of the hub"
                )
        for key in data:
            if key not in known:
                self.fail(f"Secret ssehub-secrets: {key} is not an environment variable of the hub")

    def check_placeholders(self, data: dict) -> None:
        """The committed Secrets hold REPLACE_ME placeholders that agree with each other."""
        auth = self.get("Secret", "mongodb-auth")
        if auth:
            parsed = urllib.parse.urlsplit(data.get("MONGODB_URI", ""))
            app_pw = secret_data(auth).get("SSEHUB_MONGO_PASSWORD")
            if urllib.parse.unquote(parsed.password or "") != app_pw:
                self.fail("MONGODB_URI's password must equal SSEHUB_MONGO_PASSWORD in mongodb-auth")
            if parsed.username != "ssehub" or "replicaSet=rs0" not in parsed.query:
                self.fail("MONGODB_URI must use the ssehub user and replicaSet=rs0")
            hosts = parsed.netloc.rsplit("@", 1)[-1].split(",")
            if sorted(hosts) != [f"mongodb-{i}.mongodb:27017" for i in range(3)]:
                self.fail(f"MONGODB_URI must name all three members: {hosts}")
        for name in ("ssehub-secrets", "mongodb-auth", "mongodb-keyfile"):
            s = self.get("Secret", name)
            if s and not any("REPLACE" in v.upper() for v in secret_data(s).values()):
                self.fail(f"Secret {name}: committed values must be marked REPLACE_ME placeholders")

    def check_scaling(self) -> None:
        """HPA 3-10 on CPU; a PDB and the Service select the hub pods."""
        hub = self.lookup("Deployment", "ssehub")
        svc = self.get("Service", "ssehub")
        hpa = self.get("HorizontalPodAutoscaler", "ssehub")
        if hpa:
            s = hpa["spec"]
            if (s.get("minReplicas"), s.get("maxReplicas")) != (3, 10):
                self.fail("HPA: must scale 3-10")
            if s["scaleTargetRef"]["name"] != "ssehub":
                self.fail("HPA: must target the ssehub Deployment")
            if not any(m.get("resource", {}).get("name") == "cpu" for m in s.get("metrics", [])):
                self.fail("HPA: must scale on CPU")
        if not hub:
            return
        labels = hub["spec"]["selector"]["matchLabels"]
        pdbs = [d for (k, _), (_, d) in self.objs.items() if k == "PodDisruptionBudget"]
        if not any(p["spec"]["selector"]["matchLabels"] == labels for p in pdbs):
            self.fail("no PodDisruptionBudget selects the hub pods")
        if svc and svc["spec"]["selector"] != labels:
            self.fail("Service ssehub does not select the hub pods")

    def check_mongodb(self) -> None:
        sts = self.get("StatefulSet", "mongodb")
        if sts:
            if sts["spec"].get("replicas") != 3:
                self.fail("MongoDB StatefulSet: replicas must be 3")
            mongo = sts["spec"]["template"]["spec"]["containers"][0]
            args = " ".join(mongo.get("command", []) + mongo.get("args", []))
            if "--replSet rs0" not in args or "--keyFile" not in args:
                self.fail("MongoDB StatefulSet: must run --replSet rs0 with --keyFile")
            if not sts["spec"].get("volumeClaimTemplates"):
                self.fail("MongoDB StatefulSet: needs volumeClaimTemplates")
            headless = self.get("Service", sts["spec"]["serviceName"])
            if headless and headless["spec"].get("clusterIP") != "None":
                self.fail("MongoDB Service must be headless")
        job = self.get("Job", "mongodb-init")
        if job and "rs.initiate" not in yaml.safe_dump(job):
            self.fail("mongodb-init Job must run rs.initiate")

    def check_ingress(self) -> None:
        """SSE-safe; /api and /health to the hub, / to the SPA, never the hub's /metrics."""
        ing = self.get("Ingress", "ssehub")
        if not ing:
            return
        ann = ing["metadata"].get("annotations", {})
        want = {
            "nginx.ingress.kubernetes.io/proxy-buffering": "off",
            "nginx.ingress.kubernetes.io/proxy-http-version": "1.1",
        }
        for k, v in want.items():
            if ann.get(k) != v:
                self.fail(f"Ingress: annotation {k} must be {v!r}")
        for k in ("proxy-read-timeout", "proxy-send-timeout"):
            if int(ann.get(f"nginx.ingress.kubernetes.io/{k}", "0")) < 3600:
                self.fail(f"Ingress: {k} must be at least 3600 s for SSE")
        routes = {}
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                service = p["backend"]["service"]["name"]
                routes[p["path"]] = service
                root_to_hub = p["path"] in ("/", "") and service == "ssehub"
                if p["path"].startswith("/metrics") or root_to_hub:
                    self.fail(f"Ingress: path {p['path']} would expose the hub's /metrics")
        if routes != {"/api": "ssehub", "/health": "ssehub", "/": "ssehub-frontend"}:
            self.fail(
                f"Ingress: routes must be /api,/health -> ssehub and / -> ssehub-frontend: {routes}"
            )

    def check_frontend(self) -> None:
        fe = self.get("Deployment", "ssehub-frontend")
        if fe and fe["spec"].get("replicas") != 2:
            self.fail("frontend Deployment: replicas must be 2")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    policy = Policy()
    policy.check_inventory()
    policy.check_workloads()
    policy.check_hub()
    policy.check_scaling()
    policy.check_mongodb()
    policy.check_ingress()
    policy.check_frontend()
    if policy.errors:
        print("\n".join(policy.errors), file=sys.stderr)
        sys.exit(1)
    print(f"{len(policy.objs)} objects meet the deployment policy")


if __name__ == "__main__":
    main()
