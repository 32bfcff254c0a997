"""Gateway metrics (issue 18 item 3): ``/metrics`` in the Prometheus text format, parsed with prometheus_client's
own parser; its counters move as real kernels start, relay, cull, restart and fail. On the main port the scrape
needs the token (401 without); ``--metrics-port`` serves ``/metrics`` alone, without one. Also the OpenAPI
document (``/api/swagger.{yaml,json}``) and ``--log-format json``."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import procs
from conftest import AUTH_TOKEN
from helpers import KernelWS, free_port, raw_http, wait_until, ws_url

pytestmark = pytest.mark.ej_only

P = "elastic_jupyter_gateway_"


def specs() -> dict[str, dict]:
    python3 = procs.main_kernelspecs()["python3"]
    return {
        "python3": python3,
        # culled after one idle second (a kernelspec's own timeout; the gateway's is off)
        "python3_cull": {**python3, "display_name": "Culled",
                         "metadata": {"elastic_jupyter": {"cull_idle_timeout": 1}}},
        # a kernel that asks for a GPU: its idle and busy seconds are counted
        "python3_gpu": {**python3, "display_name": "GPU", "metadata": {"elastic_jupyter": {"resources": {"gpus": 1}}}},
        # exits at once: the start fails with the process' exit
        "exits": {**python3, "display_name": "Exits", "argv": [str(procs.VENV_PY), "-c", "import sys; sys.exit(3)", "{connection_file}"]},
    }


@pytest.fixture(scope="module")
def metrics_gw(module_gateways, tmp_path_factory):
    specs_dir = procs.write_kernelspecs(tmp_path_factory.mktemp("specs-metrics") / "kernels", specs())
    port = free_port()
    g = module_gateways("metrics", kernelspec_dirs=[specs_dir], auth_token=AUTH_TOKEN, log_level="debug",
                        extra_args=["--metrics-port", str(port), "--cull-interval", "0.5", "--log-format", "json"])
    g.metrics_port = port
    return g


def scrape(g) -> dict[tuple[str, tuple], float]:
    """Every sample of the metrics port's ``/metrics``, parsed by prometheus_client: {(name, labels): value}."""
    r = requests.get(f"http://{g.host}:{g.metrics_port}/metrics", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((P + name, tuple(sorted(labels.items()))), 0.0)


def test_main_port_needs_the_token_and_the_metrics_port_serves_only_metrics(metrics_gw):
    g = metrics_gw
    assert g.rest.get("metrics", auth=False).status_code == 401
    r = g.rest.get("metrics")
    assert r.status_code == 200
    families = {f.name: f.type for f in text_string_to_metric_families(r.text)}
    assert families[P + "kernel_starts"] == "counter"  # prometheus_client names counters without _total
    assert families[P + "kernel_start_seconds"] == "histogram"
    assert families[P + "websocket_clients"] == "gauge"
    # The metrics listener: /metrics without a token, nothing else (not even with the token).
    assert scrape(g)
    for path in ("/api", "/api/kernels", "/healthz", "/api/swagger.json", "/"):
        status, _, _ = raw_http(g.host, g.metrics_port, "GET", path, headers={"Authorization": f"token {AUTH_TOKEN}"})
        assert status == 404, path
    status, _, _ = raw_http(g.host, g.metrics_port, "POST", "/metrics")
    assert status in (404, 405)


def test_counters_move_with_starts_relays_restarts_and_failures(metrics_gw):
    g = metrics_gw
    before = scrape(g)
    kernel = g.rest.start_kernel("python3")
    after_start = scrape(g)
    assert value(after_start, "kernel_starts_total", provisioner="local", result="success") == \
        value(before, "kernel_starts_total", provisioner="local", result="success") + 1
    assert value(after_start, "kernel_start_seconds_count", provisioner="local") == \
        value(before, "kernel_start_seconds_count", provisioner="local") + 1
    assert value(after_start, "kernel_start_seconds_sum", provisioner="local") > value(before, "kernel_start_seconds_sum", provisioner="local")
    assert value(after_start, "kernels", state="idle", kernelspec="python3") >= 1

    with KernelWS(ws_url(g.http_url, g.base_url, kernel["id"]), token=AUTH_TOKEN) as ws:
        assert value(scrape(g), "websocket_clients") >= 1
        assert ws.execute_ok("print('x' * 5000)").strip() == "x" * 5000
        during = scrape(g)
    for direction in ("client_to_kernel", "kernel_to_client"):
        assert value(during, "messages_relayed_total", direction=direction) > value(before, "messages_relayed_total", direction=direction)
    assert value(during, "bytes_relayed_total", direction="kernel_to_client") >= \
        value(before, "bytes_relayed_total", direction="kernel_to_client") + 5000
    wait_until(lambda: value(scrape(g), "websocket_clients") == value(before, "websocket_clients"), 10, what="the client to detach")

    assert g.rest.post(f"api/kernels/{kernel['id']}/restart").status_code == 200
    assert value(scrape(g), "kernel_restarts_total", kind="requested") == value(before, "kernel_restarts_total", kind="requested") + 1
    assert g.rest.delete_kernel(kernel["id"]).status_code == 204

    r = g.rest.post("api/kernels", json={"name": "exits"})
    assert r.status_code == 503, r.text
    failed = scrape(g)
    assert value(failed, "kernel_start_failures_total", provisioner="local", reason="process_exited") == \
        value(before, "kernel_start_failures_total", provisioner="local", reason="process_exited") + 1
    assert value(failed, "kernel_starts_total", provisioner="local", result="failure") == \
        value(before, "kernel_starts_total", provisioner="local", result="failure") + 1
    # Label values are bounded: no kernel id anywhere.
    assert kernel["id"] not in g.rest.get("metrics").text


def test_idle_kernels_are_culled_and_counted(metrics_gw):
    g = metrics_gw
    before = value(scrape(g), "kernel_culls_total", reason="idle")
    kernel = g.rest.start_kernel("python3_cull")
    wait_until(lambda: g.rest.kernel(kernel["id"]).status_code == 404, 30, what="the kernel to be culled")
    assert value(scrape(g), "kernel_culls_total", reason="idle") == before + 1


def test_gpu_kernels_count_idle_and_busy_seconds(metrics_gw):
    g = metrics_gw
    before = scrape(g)
    kernel = g.rest.start_kernel("python3_gpu")
    with KernelWS(ws_url(g.http_url, g.base_url, kernel["id"]), token=AUTH_TOKEN) as ws:
        ws.execute_ok("import time; time.sleep(1.5)", timeout=30)
        time.sleep(0.5)
    after = scrape(g)
    busy = value(after, "gpu_kernel_seconds_total", state="busy") - value(before, "gpu_kernel_seconds_total", state="busy")
    idle = value(after, "gpu_kernel_seconds_total", state="idle") - value(before, "gpu_kernel_seconds_total", state="idle")
    assert 1.4 <= busy < 30, busy
    assert idle > 0.3, idle
    assert g.rest.delete_kernel(kernel["id"]).status_code == 204
    # A kernel without a GPU adds nothing.
    plain_before = scrape(g)
    plain = g.rest.start_kernel("python3")
    with KernelWS(ws_url(g.http_url, g.base_url, plain["id"]), token=AUTH_TOKEN) as ws:
        ws.execute_ok("import time; time.sleep(0.5)")
    assert value(scrape(g), "gpu_kernel_seconds_total", state="busy") == value(plain_before, "gpu_kernel_seconds_total", state="busy")
    assert g.rest.delete_kernel(plain["id"]).status_code == 204


def test_openapi_document_is_served_behind_the_token_and_names_the_routes(metrics_gw):
    g = metrics_gw
    for name in ("api/swagger.json", "api/swagger.yaml"):
        assert g.rest.get(name, auth=False).status_code == 401
    r = g.rest.get("api/swagger.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    yaml_text = g.rest.get("api/swagger.yaml").text
    for path in doc["paths"]:
        assert f"\n  {path}:" in yaml_text, path
    # Every documented GET without a path parameter answers something other than the router's 404.
    for path, item in doc["paths"].items():
        if "get" in item and "{" not in path:
            status = g.rest.get(path.lstrip("/")).status_code
            assert status != 404, path


def test_json_log_lines_are_valid_json_whatever_the_client_sends(metrics_gw):
    g = metrics_gw
    # A session id (logged, at debug, as its client attaches) with quotes, a backslash and a forged JSON object.
    hostile = 'bad"sess\\{"level":"critical","message":"forged"}'
    r = g.rest.post("api/kernels", json={"name": "python3", "env": {"KERNEL_USERNAME": "bad\u001buser"}})
    assert r.status_code == 400, r.text
    kernel = g.rest.start_kernel("python3")
    url = ws_url(g.http_url, g.base_url, kernel["id"]) + "?session_id=" + requests.utils.quote(hostile, safe="")
    with KernelWS(url, token=AUTH_TOKEN) as ws:
        ws.send_raw_text('{"not": "a message" ')  # logged (once) with the error
        ws.execute_ok("1")
    assert g.rest.delete_kernel(kernel["id"]).status_code == 204
    lines = g.log_path.read_bytes().decode("utf-8").splitlines()
    text_line = re.compile(r"^\d{4}-\d\d-\d\dT\S+ (trace|debug|info|notice|warning|error|critical) ")
    parsed = []
    for line in lines:
        assert not text_line.match(line), f"a text log line in JSON mode: {line!r}"
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"time", "level", "label", "message"} <= entry.keys(), entry
            assert all(isinstance(v, str) for v in entry.values()), entry
            parsed.append(entry)
    attached = [e for e in parsed if e["message"] == "client attached" and e.get("kernel_id") == kernel["id"]]
    assert [e["session"] for e in attached] == [hostile], attached
    assert not any(e.get("message") == "forged" for e in parsed)
    assert any(e["message"] == "kernel start failed" for e in parsed)


def test_every_metric_is_documented_and_the_dashboard_uses_only_real_metrics(metrics_gw):
    """docs/operations.md's metrics table lists every family the gateway exports (this module's kernels have made
    most of them appear), and every query of the shipped Grafana dashboard names a documented family."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    documented = set(re.findall(r"^\| `(" + P + r"[a-z_]+)` \|", (root / "docs" / "operations.md").read_text(), re.M))
    assert len(documented) >= 12
    exported = set()
    r = requests.get(f"http://{metrics_gw.host}:{metrics_gw.metrics_port}/metrics", timeout=30)
    for family in text_string_to_metric_families(r.text):
        name = family.name if family.type != "counter" else family.name + "_total"
        exported.add(name)
    assert exported, "the scrape has families"
    assert exported <= documented, f"exported but not documented: {sorted(exported - documented)}"
    dashboard = json.loads((root / "deploy" / "grafana" / "elastic-jupyter-gateway.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(P + r"[a-z_]+", target["expr"])}
    assert used, "the dashboard queries the gateway's metrics"
    assert used <= documented, f"the dashboard uses unknown metrics: {sorted(used - documented)}"
    assert {P + "kernels", P + "kernel_start_seconds", P + "gpu_kernel_seconds_total"} <= used
