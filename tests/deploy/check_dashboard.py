#!/usr/bin/env python3
"""A real Prometheus scrapes a real llm-worker under a short load; then every query of the
Grafana dashboard (variables substituted), the prometheus-adapter rule behind the autoscaler
and every alert expression run through Prometheus' HTTP API. Each dashboard panel and the
adapter rule must return data; the throughput panels must show traffic. Every llmw_ metric the
dashboard, the alerts or the adapter name must be one the worker exports, and every metric the
worker exports must be documented in the README.

usage: check_dashboard.py SOURCE_DIR WORKER_BINARY LLMW_BINARY
"""

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

from worker_fixture import Prometheus, Worker, check, finish, http_get, model_path

# What Grafana substitutes; the model is the one the worker serves.
RATE_INTERVAL = "1m"
LABELS = {"namespace": "llm-serving", "pod": "llm-worker-test-0"}
# A long shared opening, so that later requests hit the prefix cache.
PREFIX = ("You are a helpful assistant that answers questions about the history of science "
          "and engineering in clear, short paragraphs for curious students. ")


def substitute(expr, model):
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace("$model", model)


def load(llmw, port):
    """Three rounds a second or two apart (so that every series moves between scrapes), each of
    four completions at once with a shared prompt prefix, a request too long for the context
    and one for a model the worker does not serve."""
    def generate(i, extra=()):
        return subprocess.run(
            [llmw, "generate", "--server", f"127.0.0.1:{port}", "--prompt",
             PREFIX + f"Question {i}: who was the first person to measure the speed of light?",
             "--max-tokens", "24", "--temperature", "0", *extra],
            capture_output=True, text=True, timeout=120)
    with ThreadPoolExecutor(4) as pool:
        for round in range(3):
            for run in pool.map(generate, range(4 * round, 4 * round + 4)):
                check(run.returncode == 0, f"llmw generate failed: {run.stderr}")
            too_long = generate(99, ["--max-tokens", "100000"])
            check("exceeds the model's context" in too_long.stderr,
                  f"a request beyond the context: {too_long.stderr}")
            unknown = generate(98, ["--model", "no-such-model"])
            check("unknown model" in unknown.stderr, f"an unknown model: {unknown.stderr}")
            time.sleep(1.5)


def exported_families(text):
    names = set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            names.add(m.group(1))
    return names


def main():
    source_dir, worker_binary, llmw = sys.argv[1:4]
    model = model_path()
    with open(os.path.join(source_dir, "deploy/grafana/llm-worker.json")) as f:
        dashboard = json.load(f)
    with open(os.path.join(source_dir, "deploy/prometheus/alerts.yaml")) as f:
        alerts = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    with open(os.path.join(source_dir, "deploy/prometheus/adapter-values.yaml")) as f:
        (adapter_rule,) = yaml.safe_load(f)["rules"]["custom"]

    # The dashboard's shape: a Prometheus data-source variable and a model variable used by
    # the panels, every panel on that data source.
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    check(variables.get("datasource", {}).get("type") == "datasource" and
          variables["datasource"].get("query") == "prometheus", "no Prometheus data-source variable")
    check(variables.get("model", {}).get("type") == "query", "no model variable")
    panels = dashboard["panels"]
    for p in panels:
        check(p["datasource"]["uid"] == "${datasource}", f"panel {p['title']}: data source")
        for t in p["targets"]:
            check(t["datasource"]["uid"] == "${datasource}", f"panel {p['title']}: target data source")

    worker = Worker(worker_binary, ["--model", "smollm2=" + model, "--listen", "127.0.0.1:0",
                                    "--metrics-listen", "127.0.0.1:0", "--threads", "2",
                                    "--kv-cache-memory", "200000000"])
    prometheus = Prometheus([f"127.0.0.1:{worker.metrics_port}"], LABELS)
    try:
        # A scrape before the load, so that the rates see all of it.
        end = time.time() + 60
        while time.time() < end and not prometheus.query('up{job="llm-worker"} == 1'):
            check(prometheus.process.poll() is None, "prometheus exited")
            time.sleep(0.2)
        check(prometheus.query('up{job="llm-worker"} == 1'), "prometheus scraped nothing in 60 s")
        start = time.time()
        load(llmw, worker.port)
        print(f"load took {time.time() - start:.1f} s", flush=True)
        time.sleep(3)  # scrapes after the load

        # The model variable's values, as Grafana's label_values() asks for them.
        query = variables["model"]["query"]["query"]
        metric = re.match(r"label_values\((\w+), model\)", query).group(1)
        values = prometheus.api(f"/api/v1/label/model/values?match[]={metric}")["data"]
        check(values == ["smollm2"], f"model variable values: {values}")

        for p in panels:
            for t in p["targets"]:
                expr = substitute(t["expr"], "smollm2")
                result = prometheus.query(expr)
                check(result, f"panel '{p['title']}' ({t['refId']}) has no data: {expr}")
                if p["title"] in ("Generated tokens/s", "Prompt tokens/s",
                                  "Requests/s by finish reason", "Errors/s by gRPC code"):
                    check(sum(float(r["value"][1]) for r in result) > 0,
                          f"panel '{p['title']}' shows no traffic: {result}")
                print(f"ok: {p['title']} [{t['refId']}]: {len(result)} series", flush=True)

        # The adapter rule, with the placeholders the adapter fills for one pod.
        series = re.match(r"(\w+)\{", adapter_rule["seriesQuery"]).group(1)
        matchers = ",".join(f'{k}="{v}"' for k, v in LABELS.items())
        expr = (adapter_rule["metricsQuery"].replace("<<.Series>>", series)
                .replace("<<.LabelMatchers>>", matchers).replace("<<.GroupBy>>", "pod"))
        check(prometheus.query(expr), f"the adapter's query has no data: {expr}")
        check(prometheus.query(adapter_rule["seriesQuery"]), "the adapter's series query")

        # Every alert expression is valid against the real server (firing is promtool's part).
        for rule in alerts:
            prometheus.query(rule["expr"])

        # Names: what the deployment refers to is exported, and what is exported is documented.
        text = http_get(f"http://127.0.0.1:{worker.metrics_port}/metrics")[1]
        exported = exported_families(text)
        referenced = set()
        for path in ("deploy/grafana/llm-worker.json", "deploy/prometheus/alerts.yaml",
                     "deploy/prometheus/adapter-values.yaml", "deploy/base/autoscaler.yaml"):
            with open(os.path.join(source_dir, path)) as f:
                referenced |= set(re.findall(r"\bllmw_[a-z0-9_]+", f.read()))
        for name in sorted(referenced):
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            check(family in exported, f"{name} is referenced but not exported")
        with open(os.path.join(source_dir, "README.md")) as f:
            readme = f.read()
        for name in sorted(exported):
            check(f"`{name}`" in readme, f"{name} is exported but not in the README")
    finally:
        prometheus.stop()
        worker.stop()
    finish()


if __name__ == "__main__":
    main()
