#!/usr/bin/env python3
"""Checks deploy/ with the real tools: both overlays render with `kubectl kustomize`; every
rendered object validates against the Kubernetes schemas (kubernetes-validate, strict, at
KUBERNETES_VERSION); the objects fit together (selectors, port names, the Secret and the PVC);
the Deployment is what a cluster needs (probes, drain, security, resources, GPU placement);
and the probes' ports and health service names, the flags in the ConfigMap and the PodMonitor's
path match what a started llm-worker, run with the rendered environment, really serves.

usage: check_manifests.py SOURCE_DIR WORKER_BINARY
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import yaml

from worker_fixture import (Worker, check, failures, find, finish, free_port, health, http_get,
                            model_path, render)

# Every rendered object is validated against this Kubernetes release's schemas.
KUBERNETES_VERSION = "1.32.0"
NAMESPACE = "llm-serving"
# Kinds without a schema in kubernetes-validate (Prometheus Operator CRDs): checked below by hand.
CUSTOM_KINDS = {"PodMonitor"}
EXPECTED_KINDS = {"ConfigMap", "Service", "PersistentVolumeClaim", "Deployment",
                  "PodDisruptionBudget", "NetworkPolicy", "PodMonitor", "HorizontalPodAutoscaler"}


def validate(objects, label):
    """kubernetes-validate --strict over the objects; returns the failures' output."""
    checked = [o for o in objects if o["kind"] not in CUSTOM_KINDS]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump_all(checked, f)
        f.flush()
        run = subprocess.run(["kubernetes-validate", "-k", KUBERNETES_VERSION, "--strict", f.name],
                             capture_output=True, text=True)
    passed = run.stdout.count(" passed for resource ")
    if run.returncode != 0 or passed != len(checked):
        return [f"{label}: {passed} of {len(checked)} objects valid:\n{run.stdout}{run.stderr}"]
    return []


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def worker_flags(binary):
    """The LLMW_* variables the binary reads: its flags from --help, spelled as variables."""
    text = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    flags = re.findall(r"^\s+--([a-z-]+)", text, re.M)
    # Plus the variables the help names outright (LLMW_AUTH_TOKEN: the token itself).
    return {"LLMW_" + f.upper().replace("-", "_") for f in flags} | set(re.findall(r"LLMW_\w+", text))


def check_overlay(name, objects, flags):
    kinds = {o["kind"] for o in objects}
    check(kinds == EXPECTED_KINDS, f"{name}: kinds {sorted(kinds)} != {sorted(EXPECTED_KINDS)}")
    for o in objects:
        check(o["metadata"].get("namespace") == NAMESPACE,
              f"{name}: {o['kind']} is not in namespace {NAMESPACE}")
    for error in validate(objects, name):
        check(False, error)

    deployment = find(objects, "Deployment")
    config = find(objects, "ConfigMap")
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    env = config["data"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    pod_labels = pod["metadata"]["labels"]

    # Flags: every LLMW_* variable is one the binary reads. LLMW_DEVICE selects the backend
    # (cpu or cuda) and is checked only once the binary has the --device flag.
    env_names = set(env) | {e["name"] for e in container["env"] if e["name"].startswith("LLMW_")}
    for var in sorted(env_names - flags):
        check(var == "LLMW_DEVICE", f"{name}: {var} is no llm-worker flag")
    check(env.get("LLMW_DEVICE") == {"cpu": "cpu", "gpu": "cuda"}[name],
          f"{name}: LLMW_DEVICE is {env.get('LLMW_DEVICE')}")
    check(container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"],
          f"{name}: the container does not read the ConfigMap")
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
               if "secretKeyRef" in e.get("valueFrom", {})}
    check(set(secrets) == {"LLMW_SCHEDULER", "LLMW_AUTH_TOKEN"},
          f"{name}: variables from the Secret: {sorted(secrets)}")
    check(not secrets.get("LLMW_AUTH_TOKEN", {}).get("optional", False),
          f"{name}: the auth token must not be optional")

    # Ports: the probes, the container ports and the Service all meet the flags' ports.
    grpc_port, metrics_port = port_of(env["LLMW_LISTEN"]), port_of(env["LLMW_METRICS_LISTEN"])
    check(ports == {"grpc": grpc_port, "metrics": metrics_port},
          f"{name}: container ports {ports} vs flags {grpc_port}, {metrics_port}")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check(container[probe]["grpc"]["port"] == grpc_port, f"{name}: {probe} port")
    service = find(objects, "Service")
    check(matches(service["spec"]["selector"], pod_labels), f"{name}: Service selector")
    for p in service["spec"]["ports"]:
        check(p["targetPort"] in ports and p["port"] == ports[p["targetPort"]],
              f"{name}: Service port {p}")

    # Drain: SIGTERM must have the drain timeout (and the preStop pause) before the kill.
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    check(spec["terminationGracePeriodSeconds"] > int(env["LLMW_DRAIN_TIMEOUT"]) + pre_stop + 5,
          f"{name}: terminationGracePeriodSeconds does not cover the drain")
    startup = container["startupProbe"]
    check(startup["periodSeconds"] * startup["failureThreshold"] >= 600,
          f"{name}: the startup probe allows less than 10 minutes for model loading")

    # Security and resources.
    sc, psc = container["securityContext"], spec["securityContext"]
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{name}: non-root")
    check(sc.get("allowPrivilegeEscalation") is False, f"{name}: privilege escalation")
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: read-only root filesystem")
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            check(resource in container["resources"].get(kind, {}), f"{name}: {kind}.{resource}")
    gpus = container["resources"]["limits"].get("nvidia.com/gpu")
    tolerated = {t.get("key") for t in spec.get("tolerations", [])}
    if name == "gpu":
        check(gpus == 1, f"gpu: nvidia.com/gpu limit is {gpus}")
        check("nvidia.com/gpu" in tolerated, "gpu: no toleration of nvidia.com/gpu")
        check("nvidia.com/gpu.present" in spec.get("nodeSelector", {}), "gpu: no GPU node selector")
    else:
        check(gpus is None and not tolerated, "cpu: asks for a GPU")

    # Models from the PVC the base renders, mounted read-only where LLMW_MODEL points.
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    claim = volumes["models"]["persistentVolumeClaim"]["claimName"]
    check(find(objects, "PersistentVolumeClaim")["metadata"]["name"] == claim, f"{name}: PVC name")
    check(mounts["models"]["readOnly"] and
          env["LLMW_MODEL"].split("=", 1)[1].startswith(mounts["models"]["mountPath"] + "/"),
          f"{name}: LLMW_MODEL is not on the models volume")

    # The other objects select these pods and name their ports.
    pdb, policy = find(objects, "PodDisruptionBudget"), find(objects, "NetworkPolicy")
    monitor, hpa = find(objects, "PodMonitor"), find(objects, "HorizontalPodAutoscaler")
    for obj, selector in ((pdb, pdb["spec"]["selector"]["matchLabels"]),
                          (policy, policy["spec"]["podSelector"]["matchLabels"]),
                          (monitor, monitor["spec"]["selector"]["matchLabels"])):
        check(matches(selector, pod_labels), f"{name}: {obj['kind']} does not select the pods")
    sources = set()
    for rule in policy["spec"]["ingress"]:
        for p in rule["ports"]:
            check(p["port"] in ports, f"{name}: NetworkPolicy port {p['port']}")
        for peer in rule["from"]:
            sources.add(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
    check(sources == {"llm-router", "monitoring"}, f"{name}: NetworkPolicy admits {sources}")
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    check(endpoint["port"] == "metrics", f"{name}: PodMonitor port {endpoint['port']}")
    check(hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"],
          f"{name}: the autoscaler scales {hpa['spec']['scaleTargetRef']['name']}")
    (metric,) = hpa["spec"]["metrics"]
    check(metric["type"] == "Pods" and metric["pods"]["metric"]["name"] == "llmw_requests_waiting",
          f"{name}: the autoscaler's metric")


def pod_environment(objects, model):
    """The container's environment as the kubelet would build it, with what differs on this
    machine replaced: the model path, loopback ports, the thread count and the KV-cache size."""
    config, deployment = find(objects, "ConfigMap"), find(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = dict(config["data"])
    fields = {"metadata.name": "llm-worker-test-0", "status.podIP": "127.0.0.1"}
    secret = {"auth-token": "deploy-test-token"}  # no scheduler key: standalone
    for e in container["env"]:
        source = e.get("valueFrom", {})
        if "fieldRef" in source:
            env[e["name"]] = fields[source["fieldRef"]["fieldPath"]]
        elif "secretKeyRef" in source:
            if source["secretKeyRef"]["key"] in secret:
                env[e["name"]] = secret[source["secretKeyRef"]["key"]]
        else:
            env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], e["value"])
    local = {"LLMW_MODEL": "smollm2=" + model,
             "LLMW_LISTEN": f"127.0.0.1:{free_port()}",
             "LLMW_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
             "LLMW_THREADS": "2", "LLMW_KV_CACHE_MEMORY": "200000000"}
    check(set(local) <= set(env), f"the rendered environment lacks {set(local) - set(env)}")
    env.update(local)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LLMW_")}
    return {**base, **env}


def check_started_worker(source_dir, binary, model, objects):
    deployment = find(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probes = {p: container[p]["grpc"].get("service", "") for p in
              ("startupProbe", "readinessProbe", "livenessProbe")}
    monitor_path = find(objects, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["path"]
    env = pod_environment(objects, model)
    worker = Worker(binary, [], env=env)
    try:
        check(worker.port == port_of(env["LLMW_LISTEN"]), "the worker ignored LLMW_LISTEN")
        for probe, service in probes.items():
            status = health(worker.port, service)
            check(status == "SERVING", f"{probe} (service '{service}') answers {status}")
        check(health(worker.port, "no.such.Service") == "NOT_FOUND",
              "the health service answers for a service it does not register")
        status, body = http_get(f"http://127.0.0.1:{worker.metrics_port}{monitor_path}")
        check(status == 200 and "\nllmw_ready 1\n" in "\n" + body,
              f"GET {monitor_path} on the metrics port: {status}")

        # A live stream keeps the worker draining after SIGTERM: readiness drops at once,
        # liveness stays, and the worker exits 0 within the grace period.
        llmw = os.path.join(os.path.dirname(os.path.dirname(binary)), "tools", "llmw")
        token = tempfile.NamedTemporaryFile("w", suffix=".token")
        token.write("deploy-test-token\n")
        token.flush()
        stream = subprocess.Popen(
            [llmw, "generate", "--server", f"127.0.0.1:{worker.port}", "--auth-token-file",
             token.name, "--prompt", "Tell me a long story.", "--max-tokens", "400",
             "--ignore-eos", "--temperature", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 30
        while time.time() < end and not re.search(
                r'\nllmw_requests_running\{model="smollm2"\} 1\n',
                http_get(f"http://127.0.0.1:{worker.metrics_port}/metrics")[1]):
            time.sleep(0.05)
        worker.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        readiness = health(worker.port, probes["readinessProbe"])
        liveness = health(worker.port, probes["livenessProbe"])
        check(readiness == "NOT_SERVING", f"readiness while draining: {readiness}")
        check(liveness == "SERVING", f"liveness while draining: {liveness}")
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        start = time.time()
        code = worker.stop(timeout=grace)
        check(code == 0, f"exit status after SIGTERM: {code} after {time.time() - start:.1f} s")
        stream.wait(30)
    finally:
        if worker.process.poll() is None:
            worker.stop()
    if failures:
        print(worker.text())


def main():
    source_dir, binary = sys.argv[1:3]
    model = model_path()
    flags = worker_flags(binary)
    rendered = {}
    for overlay in ("cpu", "gpu"):
        rendered[overlay] = render(source_dir, overlay)
        check_overlay(overlay, rendered[overlay], flags)
    # Guard: the validator rejects a misspelt field.
    broken = [dict(find(rendered["cpu"], "Deployment"))]
    broken[0]["spec"] = dict(broken[0]["spec"], replica=2)
    check(validate(broken, "broken"), "kubernetes-validate accepted an unknown field")
    check_started_worker(source_dir, binary, model, rendered["cpu"])
    finish()


if __name__ == "__main__":
    main()
