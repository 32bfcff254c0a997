"""Fault injection, the request log and the /_fake/ control API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

from .testing import control, wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def test_fail_next_requests(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    rule = fake_kube.fail("GET", r"/namespaces/default/configmaps$", status=500, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as e:
            core.list_namespaced_config_map("default")
        body = json.loads(e.value.body)
        assert e.value.status == 500 and body["kind"] == "Status" and body["reason"] == "InternalError"
    core.list_namespaced_config_map("default")  # third one passes
    assert rule.hits == 2
    core.create_namespaced_config_map("default", cm("unaffected"))  # POST did not match


def test_429_with_retry_after_is_honoured_by_client_go_style_retries(fake_kube, fake_kubeconfig):
    fake_kube.fail("GET", "/configmaps$", status=429, retry_after=1, count=1)
    r = requests.get(fake_kube.url + "/api/v1/namespaces/default/configmaps")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["reason"] == "TooManyRequests" and r.json()["details"]["retryAfterSeconds"] == 1
    fake_kube.fail("GET", "/configmaps$", status=429, retry_after=1, count=1)
    cfg = client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(fake_kubeconfig), client_configuration=cfg)
    if not hasattr(cfg, "client_go_retries"):
        pytest.skip("this kubernetes client has no client-go compatible retries")
    cfg.client_go_retries = True
    api = client.ApiClient(cfg)
    t0 = time.monotonic()
    client.CoreV1Api(api).list_namespaced_config_map("default")  # retried after ~1s, then succeeds
    assert time.monotonic() - t0 >= 0.9
    assert [e["status"] for e in fake_kube.requests(path="/configmaps$")][-2:] == [429, 200]
    api.close()


def test_delay_close_and_forbidden(fake_kube):
    url = fake_kube.url + "/api/v1/namespaces/default/configmaps"
    fake_kube.delay(0.5, "GET", "/configmaps$", count=1)
    t0 = time.monotonic()
    assert requests.get(url).status_code == 200
    assert time.monotonic() - t0 >= 0.5
    fake_kube.close_connections("GET", "/configmaps$", count=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    fake_kube.fail("POST", "/configmaps$", status=403)
    r = requests.post(url, json=cm("x"))
    assert r.status_code == 403 and r.json()["reason"] == "Forbidden"
    assert r.json()["message"] == ('configmaps is forbidden: User "system:anonymous" cannot create resource '
                                   '"configmaps" in API group "" in the namespace "default"')
    assert requests.post(url, json=cm("x")).status_code == 201


def test_dropped_watches_are_resumed_by_the_python_client_without_loss(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    seen: list[str] = []
    w = watch.Watch()

    def consume():
        # no timeout_seconds: the python client resumes from the last resourceVersion when the stream ends
        for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv):
            seen.append(ev["object"].metadata.name)
            if len(seen) == 4:
                w.stop()
                return
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    wait_until(lambda: len(fake_kube.open_watches()) == 1, 5, message="watch open")
    core.create_namespaced_config_map("default", cm("a"))
    wait_until(lambda: seen == ["a"], 5)
    assert fake_kube.drop_watches() == 1
    core.create_namespaced_config_map("default", cm("b"))  # while no watch is open
    wait_until(lambda: len(fake_kube.open_watches()) == 1, 5, message="watch resumed")
    core.create_namespaced_config_map("default", cm("c"))
    fake_kube.drop_watches()
    core.create_namespaced_config_map("default", cm("d"))
    t.join(timeout=10)
    assert seen == ["a", "b", "c", "d"]
    watches = fake_kube.requests(watch=True)
    assert len(watches) == 3
    assert [int(x["params"]["resourceVersion"]) for x in watches] == sorted(
        int(x["params"]["resourceVersion"]) for x in watches)


def test_abrupt_drop_resets_the_connection(fake_kube):
    r = requests.get(fake_kube.url + "/api/v1/namespaces/default/configmaps",
                     params={"watch": "1", "resourceVersion": "0"}, stream=True, timeout=10)
    wait_until(lambda: fake_kube.open_watches(), 5)
    fake_kube.drop_watches(abrupt=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for _ in r.iter_lines():
            pass


def test_request_log(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    fake_kube.clear_requests()
    core.list_namespaced_pod("default", label_selector="app=x")
    list(watch.Watch().stream(core.list_namespaced_pod, "default", timeout_seconds=1))
    log = fake_kube.requests()
    assert [(e["method"], e["path"], e["watch"]) for e in log] == [
        ("GET", "/api/v1/namespaces/default/pods", False), ("GET", "/api/v1/namespaces/default/pods", True)]
    assert log[0]["params"]["labelSelector"] == "app=x" and log[0]["status"] == 200
    assert log[1]["params"]["timeoutSeconds"] == "1" and log[0]["time"] <= log[1]["time"]
    fake_kube.clear_requests()
    assert fake_kube.requests() == []


def test_kubelet_traffic_is_exempt_from_faults_and_hidden_from_the_log(fake_kube, fake_kubelet):
    fake_kube.fail("*", ".*", status=500, count=None)  # everything the code under test asks fails...
    r = requests.post(fake_kube.url + "/api/v1/namespaces/default/pods", json={
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11",
                                                           "command": ["python", "-c", "pass"]}]}})
    assert r.status_code == 500
    fake_kube.clear_faults()
    fake_kube.create_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                             "spec": {"restartPolicy": "Never", "containers": [{
                                 "name": "c", "image": "python:3.11", "command": ["python", "-c", "pass"]}]}})
    fake_kube.fail("*", ".*", status=500, count=None)
    # ...but the kubelet double keeps working
    wait_until(lambda: fake_kube.get_object("v1", "Pod", "p")["status"]["phase"] == "Succeeded", 15)
    assert all(not e["internal"] for e in fake_kube.requests())
    assert any(e["internal"] for e in fake_kube.requests(include_internal=True))


def test_http_control_api_from_another_process(fake_kube):
    """Everything a test in another process needs, through /_fake/ only (run in a real subprocess)."""
    script = r"""
import json, sys, urllib.request, urllib.error
base = sys.argv[1]
def call(method, path, body=None):
    req = urllib.request.Request(base + "/_fake/" + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
out = {}
out["fault"] = call("POST", "faults", {"method": "GET", "path": "/configmaps$", "status": 503, "count": 1})
try:
    urllib.request.urlopen(base + "/api/v1/namespaces/default/configmaps", timeout=10)
    out["status"] = 200
except urllib.error.HTTPError as e:
    out["status"] = e.code
    out["reason"] = json.loads(e.read())["reason"]
out["requests"] = call("GET", "requests?path=configmaps")["items"]
out["objects"] = [o["metadata"]["name"] for o in call("GET", "objects")["items"] if o["kind"] == "Namespace"]
out["expired"] = call("POST", "history/expire")
out["dropped"] = call("POST", "watches/drop", {"abrupt": False})
out["state"] = call("GET", "state")
call("DELETE", "requests")
out["after_reset"] = call("GET", "requests")["items"]
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", script, fake_kube.url], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == 503 and out["reason"] == "ServiceUnavailable"
    assert out["fault"]["status"] == 503 and out["fault"]["count"] == 1
    assert [r["status"] for r in out["requests"]] == [503]
    assert "default" in out["objects"]
    assert int(out["expired"]["compactedResourceVersion"]) == int(out["state"]["resourceVersion"])
    assert out["dropped"] == {"dropped": 0} and out["after_reset"] == []
    # and from here, with the helper
    assert control(fake_kube.url, "GET", "faults")["items"][0]["hits"] == 1
    control(fake_kube.url, "DELETE", "faults")
    assert fake_kube.faults() == []
