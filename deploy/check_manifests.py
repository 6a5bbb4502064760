#!/usr/bin/env python3
"""Checks one rendered overlay (the output of `kubectl kustomize`) for deploy/validate.sh.

Two kinds of check, every failure reported, exit status 1 if there was any:
  * schema: every object against the Kubernetes JSON schemas shipped by kubernetes-validate,
    in strict mode (unknown fields fail) and for each version asked for; an object whose
    kind has no schema fails too, rather than being skipped with a warning;
  * rules the schemas cannot express: Pod Security "restricted" settings, resources, probes,
    the shutdown budget, and that every name an object refers to exists.

usage: check_manifests.py RENDERED.yaml --k8s-version 1.37.0 [--k8s-version ...]
                          [--min-replicas N] [--external-secret NAME ...]
"""

import argparse
import sys

import yaml
from kubernetes_validate import utils as kv

SERVICES = ("identity", "licensing", "billing", "notification")
GRPC_PORT = 50051
# Volume sources allowed by the Pod Security "restricted" profile.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
POD_KINDS = {"Deployment": ("spec", "template"), "Job": ("spec", "template"),
             "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
             "CronJob": ("spec", "jobTemplate", "spec", "template")}


class Report:
    def __init__(self):
        self.errors = []

    def fail(self, where, message):
        self.errors.append(f"{where}: {message}")


def ident(obj):
    return f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}"


def dig(obj, *path, default=None):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def check_schemas(objects, versions, report):
    for obj in objects:
        for version in versions:
            try:
                kv.validate(obj, version, strict=True)
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path) or "(top)"
                report.fail(ident(obj), f"schema {e.version}: {path}: {e.message}")
            except (kv.SchemaNotFoundError, kv.InvalidSchemaError, kv.VersionNotSupportedError) as e:
                report.fail(ident(obj), f"schema {version}: {e.message}")


def selects(selector, labels):
    """Whether a matchLabels-only selector selects these labels."""
    wanted = (selector or {}).get("matchLabels") or selector or {}
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def check_container(where, c, report):
    sc = c.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        report.fail(where, "securityContext.allowPrivilegeEscalation must be false")
    if "ALL" not in (dig(sc, "capabilities", "drop") or []):
        report.fail(where, "securityContext.capabilities.drop must contain ALL")
    if dig(sc, "capabilities", "add"):
        report.fail(where, "securityContext.capabilities.add must be empty")
    if sc.get("privileged"):
        report.fail(where, "must not be privileged")
    if sc.get("readOnlyRootFilesystem") is not True:
        report.fail(where, "securityContext.readOnlyRootFilesystem must be true")
    if sc.get("runAsUser") == 0 or sc.get("runAsNonRoot") is False:
        report.fail(where, "must not run as root")
    for kind in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if not dig(c, "resources", kind, res):
                report.fail(where, f"resources.{kind}.{res} is missing")


def check_pod(obj, pod, names, external, report):
    where = ident(obj)
    spec = pod.get("spec") or {}
    psc = spec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        report.fail(where, "pod securityContext.runAsNonRoot must be true")
    if dig(psc, "seccompProfile", "type") != "RuntimeDefault":
        report.fail(where, "pod securityContext.seccompProfile.type must be RuntimeDefault")
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            report.fail(where, f"{host} is not allowed")
    if spec.get("automountServiceAccountToken") is not False:
        report.fail(where, "automountServiceAccountToken must be false")
    sa = spec.get("serviceAccountName")
    if sa and ("ServiceAccount", sa) not in names:
        report.fail(where, f"ServiceAccount {sa} does not exist")

    volumes = {}
    for v in spec.get("volumes") or []:
        sources = [k for k in v if k != "name"]
        if len(sources) != 1:
            report.fail(where, f"volume {v['name']} must have exactly one source, has {sources}")
        elif sources[0] not in RESTRICTED_VOLUMES:
            report.fail(where, f"volume {v['name']}: {sources[0]} is not allowed by 'restricted'")
        volumes[v["name"]] = v
        ref = (("ConfigMap", dig(v, "configMap", "name")), ("Secret", dig(v, "secret", "secretName")),
               ("PersistentVolumeClaim", dig(v, "persistentVolumeClaim", "claimName")))
        check_refs(where, ref, names, external, report)

    containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
    for c in containers:
        cwhere = f"{where} container {c['name']}"
        check_container(cwhere, c, report)
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        for path, vol in mounts.items():
            if vol not in volumes:
                report.fail(cwhere, f"mounts {path} from missing volume {vol}")
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            report.fail(cwhere, "needs an emptyDir mounted at /tmp (the root filesystem is read-only)")
        refs = []
        for src in c.get("envFrom") or []:
            refs.append(("ConfigMap", dig(src, "configMapRef", "name")))
            refs.append(("Secret", dig(src, "secretRef", "name")))
        for env in c.get("env") or []:
            refs.append(("ConfigMap", dig(env, "valueFrom", "configMapKeyRef", "name")))
            refs.append(("Secret", dig(env, "valueFrom", "secretKeyRef", "name")))
        check_refs(cwhere, refs, names, external, report)


def check_refs(where, refs, names, external, report):
    for kind, name in refs:
        if name and (kind, name) not in names and not (kind == "Secret" and name in external):
            report.fail(where, f"refers to {kind} {name}, which the overlay does not create"
                               + (" (and it is not a documented external Secret)" if kind == "Secret" else ""))


def config_value(pod, objects, key):
    """The value of an env key for the pod's first container: env, then envFrom ConfigMaps."""
    c = pod["spec"]["containers"][0]
    for env in c.get("env") or []:
        if env["name"] == key and "value" in env:
            return env["value"]
    value = None
    for src in c.get("envFrom") or []:
        name = dig(src, "configMapRef", "name")
        for obj in objects:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name:
                value = (obj.get("data") or {}).get(key, value)
    return value


def check_service_deployment(dep, objects, hpas, min_replicas, report):
    where = ident(dep)
    name = dep["metadata"]["name"]
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    if c.get("args") != ["serve", name]:
        report.fail(where, f"container args should be ['serve', '{name}'], are {c.get('args')}")
    health = f"portal.{name}.v1.{name.capitalize()}Service"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = dig(c, probe, "grpc")
        if not grpc:
            report.fail(where, f"{probe} must be a native gRPC probe")
        elif grpc.get("port") != GRPC_PORT:
            report.fail(where, f"{probe} must probe port {GRPC_PORT}")
        elif probe == "readinessProbe" and grpc.get("service") != health:
            report.fail(where, f"readinessProbe should ask for {health}")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
    if ports.get("grpc") != GRPC_PORT or ports.get("metrics") != 9090:
        report.fail(where, "container ports must be grpc 50051 and metrics 9090")

    # Shutdown budget: preStop sleep, then on SIGTERM the server's own delay (NOT_SERVING while
    # still accepting) and its drain deadline must all end before the SIGKILL.
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    sleep = dig(c, "lifecycle", "preStop", "sleep", "seconds", default=0)
    delay = int(config_value(pod, objects, "PORTAL_SERVER__SHUTDOWN_DELAY_MS") or 0) / 1000
    drain = int(config_value(pod, objects, "PORTAL_SERVER__DRAIN_TIMEOUT_SECS") or 20)  # binary defaults
    if sleep + delay + drain >= grace:
        report.fail(where, f"terminationGracePeriodSeconds {grace} leaves no slack after preStop "
                           f"{sleep}s + shutdown delay {delay:g}s + drain {drain}s")

    hpa = hpas.get(name)
    least = hpa["spec"].get("minReplicas", 1) if hpa else dep["spec"].get("replicas", 1)
    if least < min_replicas:
        report.fail(where, f"runs at least {least} replica(s), this overlay needs {min_replicas}")


def check(objects, versions, min_replicas, external, report):
    check_schemas(objects, versions, report)
    try:
        check_rules(objects, min_replicas, external, report)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        # Only reachable with objects the schemas already rejected (a string for a number...).
        report.fail("overlay", f"rule checks stopped early on a malformed object: {e!r}")


def check_rules(objects, min_replicas, external, report):
    names = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in names:
            report.fail(ident(obj), "defined twice")
        names.add(key)

    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    if len(namespaces) != 1:
        report.fail("overlay", "must create exactly one Namespace")
    else:
        ns = namespaces[0]
        if dig(ns, "metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted":
            report.fail(ident(ns), "needs label pod-security.kubernetes.io/enforce: restricted")
        for obj in objects:
            if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != ns["metadata"]["name"]:
                report.fail(ident(obj), f"must be in namespace {ns['metadata']['name']}")

    pods = []
    for obj in objects:
        if obj["kind"] in POD_KINDS:
            pod = dig(obj, *POD_KINDS[obj["kind"]])
            pods.append((obj, pod))
            check_pod(obj, pod, names, external, report)
        elif obj["kind"] == "Pod":
            report.fail(ident(obj), "bare Pods are not managed; use a Deployment or Job")

    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    if sorted(deployments) != sorted(SERVICES):
        report.fail("overlay", f"expected Deployments {sorted(SERVICES)}, found {sorted(deployments)}")
    hpas = {}
    for hpa in (o for o in objects if o["kind"] == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            report.fail(ident(hpa), f"scales {target.get('kind')}/{target.get('name')}, which does not exist")
        else:
            hpas[target["name"]] = hpa
    for dep in deployments.values():
        check_service_deployment(dep, objects, hpas, min_replicas, report)

    # Migrations run somewhere: a Job, or an init container in every service.
    def migrates(containers):
        return any(c.get("args") == ["migrate"] for c in containers or [])
    job = any(o["kind"] == "Job" and migrates(p["spec"]["containers"]) for o, p in pods)
    init = deployments and all(migrates(d["spec"]["template"]["spec"].get("initContainers"))
                               for d in deployments.values())
    if not (job or init):
        report.fail("overlay", "nothing runs `portal migrate` (no Job, no init containers)")

    pod_labels = [(ident(o), dig(p, "metadata", "labels") or {}) for o, p in pods]
    for obj in objects:
        if obj["kind"] == "Service":
            sel = obj["spec"].get("selector") or {}
            if not any(selects(sel, labels) for _, labels in pod_labels):
                report.fail(ident(obj), f"selector {sel} matches no pod template")
        elif obj["kind"] == "PodDisruptionBudget":
            if not any(selects(obj["spec"].get("selector"), labels) for _, labels in pod_labels):
                report.fail(ident(obj), "selector matches no pod template")

    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    if not any(p["spec"].get("podSelector") in ({}, None)
               and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
               and not p["spec"].get("ingress") and not p["spec"].get("egress") for p in policies):
        report.fail("overlay", "needs a default-deny NetworkPolicy (all pods, Ingress and Egress)")
    for where, labels in pod_labels:
        covered = [p for p in policies if selects(p["spec"].get("podSelector"), labels)]
        if not any("Egress" in (p["spec"].get("policyTypes") or []) and p["spec"].get("egress")
                   for p in covered):
            report.fail(where, "no NetworkPolicy lets its pods reach DNS or anything else")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered")
    parser.add_argument("--k8s-version", action="append", required=True)
    parser.add_argument("--min-replicas", type=int, default=1)
    parser.add_argument("--external-secret", action="append", default=[],
                        help="a Secret the overlay refers to but leaves to the operator")
    args = parser.parse_args()

    with open(args.rendered) as f:
        objects = [o for o in yaml.safe_load_all(f) if o]
    report = Report()
    check(objects, args.k8s_version, args.min_replicas, set(args.external_secret), report)
    for error in report.errors:
        print(f"  FAIL {error}")
    kinds = sorted({o["kind"] for o in objects})
    print(f"  {len(objects)} objects ({', '.join(kinds)}), Kubernetes {', '.join(args.k8s_version)}: "
          + (f"{len(report.errors)} problem(s)" if report.errors else "ok"))
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
