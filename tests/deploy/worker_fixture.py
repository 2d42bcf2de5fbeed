"""Shared by the deployment checks: a started llm-worker and a started Prometheus on free
loopback ports, rendered manifests, and a gRPC health check as the kubelet's probes make it."""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import json

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

failures = []


def check(condition, message):
    """Records a failed check (the run goes on, so that one run reports them all)."""
    if not condition:
        failures.append(message)
        print(f"FAIL: {message}", flush=True)
    return condition


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed")
        raise SystemExit(1)
    print("all checks passed")


def model_path():
    """SmolLM2 (scripts/fetch-model.sh); without it the check is skipped (exit 77), or fails
    under LLMW_REQUIRE_MODELS=1."""
    path = os.environ.get("LLMW_SMOLLM2_GGUF", os.path.expanduser(
        "~/.cache/llm-worker/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not os.path.isfile(path):
        print(f"model {path} missing (scripts/fetch-model.sh fetches it)")
        raise SystemExit(1 if os.environ.get("LLMW_REQUIRE_MODELS") == "1" else 77)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(source_dir, overlay):
    """The objects `kubectl kustomize deploy/overlays/OVERLAY` renders."""
    out = subprocess.run(["kubectl", "kustomize", os.path.join(source_dir, "deploy/overlays", overlay)],
                         check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def find(objects, kind):
    found = [o for o in objects if o["kind"] == kind]
    return found[0] if found else None


class Worker:
    """llm-worker started with `args` and `env`; ports read from its log."""

    def __init__(self, binary, args, env=None, timeout=120):
        self.log = tempfile.NamedTemporaryFile("w+", prefix="llmw-deploy-", suffix=".log")
        self.process = subprocess.Popen([binary] + args, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=env if env is not None else os.environ.copy())
        self.port = self.metrics_port = None
        end = time.time() + timeout
        while time.time() < end and self.process.poll() is None:
            text = self.text()
            serving = re.search(r"serving on port (\d+)", text)
            metrics = re.search(r"metrics on port (\d+)", text)
            if serving:
                self.port = int(serving.group(1))
                self.metrics_port = int(metrics.group(1)) if metrics else None
                return
            time.sleep(0.1)
        raise RuntimeError("llm-worker did not start serving; its log:\n" + self.text())

    def text(self):
        with open(self.log.name) as f:
            return f.read()

    def stop(self, timeout=60):
        """SIGTERM, then the exit status (None when it outlived `timeout`, and it is killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def health(port, service):
    """The grpc.health.v1 status name of `service`, or the gRPC error code's name."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.RpcError as e:
            return e.code().name


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.status, reply.read().decode()


class Prometheus:
    """A real Prometheus scraping `targets` every second (with extra target `labels`)."""

    def __init__(self, targets, labels):
        self.dir = tempfile.TemporaryDirectory(prefix="llmw-prometheus-")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "llm-worker",
                                "static_configs": [{"targets": targets, "labels": labels}]}],
        }
        with open(os.path.join(self.dir.name, "prometheus.yml"), "w") as f:
            yaml.safe_dump(config, f)
        self.port = free_port()
        self.log = open(os.path.join(self.dir.name, "log"), "w+")
        self.process = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir.name}/prometheus.yml",
             f"--storage.tsdb.path={self.dir.name}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expr):
        """The result list of an instant query (empty while the server is not up yet); raises on a
        query error."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            status, body = http_get(url)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"query {expr!r}: {e.read().decode()}")
        except OSError:
            return []
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise RuntimeError(f"query {expr!r}: {body}")
        return reply["data"]["result"]

    def api(self, path):
        return json.loads(http_get(f"http://127.0.0.1:{self.port}{path}")[1])

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.dir.cleanup()
