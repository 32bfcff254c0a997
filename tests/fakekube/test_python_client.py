"""The fake API server driven by an independent client: the official Python ``kubernetes`` client.

Each test states the real API server behaviour it checks (as documented at
https://kubernetes.io/docs/reference/using-api/api-concepts/).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

from .testing import wait_until  # noqa: E402


def pod(name: str | None = None, labels: dict | None = None, generate: str | None = None, **spec) -> dict:
    meta = {"labels": labels or {}}
    if name:
        meta["name"] = name
    if generate:
        meta["generateName"] = generate
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec}}


def cm(name: str, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": {"k": "v"}}


def deployment(name: str, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}


def status_of(exc: ApiException) -> dict:
    import json
    return json.loads(exc.body)


# ----------------------------------------------------------------------------------------------------------
# metadata, create, get, list
# ----------------------------------------------------------------------------------------------------------


def test_discovery_version_and_namespaces(kube_api):
    assert client.VersionApi(kube_api).get_code().git_version.startswith("v1.")
    groups = {g.name for g in client.ApisApi(kube_api).get_api_versions().groups}
    assert {"apps", "rbac.authorization.k8s.io", "networking.k8s.io", "coordination.k8s.io",
            "apiextensions.k8s.io"} <= groups
    core = client.CoreV1Api(kube_api)
    names = {r.name for r in core.get_api_resources().resources}
    assert {"pods", "pods/status", "secrets", "configmaps", "services", "serviceaccounts", "events",
            "persistentvolumeclaims", "namespaces"} <= names
    assert "default" in {n.metadata.name for n in core.list_namespace().items}


def test_create_sets_server_metadata(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    a = core.create_namespaced_pod("default", pod("a"))
    b = core.create_namespaced_pod("default", pod(generate="kernel-"))
    assert a.metadata.uid and a.metadata.uid != b.metadata.uid
    assert a.metadata.creation_timestamp is not None
    assert a.metadata.namespace == "default"  # taken from the URL
    assert a.metadata.generation == 1
    assert b.metadata.name.startswith("kernel-") and len(b.metadata.name) == len("kernel-") + 5
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    # defaults a real API server applies
    assert a.spec.restart_policy == "Always" and a.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert a.status.phase == "Pending"
    lst = core.list_namespaced_pod("default")
    assert {p.metadata.name for p in lst.items} == {"a", b.metadata.name}
    assert int(lst.metadata.resource_version) >= int(b.metadata.resource_version)
    doc = requests.get(fake_kube.url + "/api/v1/namespaces/default/pods").json()
    assert doc["kind"] == "PodList" and doc["apiVersion"] == "v1"
    # like a real server, items of built-in lists carry no kind/apiVersion (custom resource items do)
    assert "kind" not in doc["items"][0] and "apiVersion" not in doc["items"][0]


def test_errors_are_status_objects_with_real_reasons(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map("default", cm("x"))
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("default", cm("x"))
    s = status_of(e.value)
    assert e.value.status == 409 and s["kind"] == "Status" and s["reason"] == "AlreadyExists"
    assert s["message"] == 'configmaps "x" already exists' and s["details"]["name"] == "x"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("nope", "default")
    assert e.value.status == 404 and status_of(e.value)["reason"] == "NotFound"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("no-such-ns", cm("y"))
    assert e.value.status == 404 and status_of(e.value)["message"] == 'namespaces "no-such-ns" not found'
    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"},
                                               "spec": {"containers": [{"name": "c", "image": "x"}]}})
    s = status_of(e.value)
    assert e.value.status == 422 and s["reason"] == "Invalid" and s["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod("default", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                               "spec": {"containers": []}})
    assert e.value.status == 422 and "spec.containers: Required value" in status_of(e.value)["message"]


def test_put_with_stale_resource_version_conflicts(kube_api):
    core = client.CoreV1Api(kube_api)
    first = core.create_namespaced_config_map("default", cm("c"))
    first.data = {"k": "v2"}
    second = core.replace_namespaced_config_map("c", "default", first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    first.data = {"k": "v3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("c", "default", first)
    s = status_of(e.value)
    assert e.value.status == 409 and s["reason"] == "Conflict"
    assert "the object has been modified" in s["message"]
    # client-go's RetryOnConflict (1:1 port in the python client) recovers
    from kubernetes.utils.retry import retry_on_conflict

    def bump():
        cur = core.read_namespaced_config_map("c", "default")
        cur.data = {"k": "v4"}
        return core.replace_namespaced_config_map("c", "default", cur)
    assert retry_on_conflict(bump).data == {"k": "v4"}


def test_noop_update_keeps_resource_version(kube_api):
    core = client.CoreV1Api(kube_api)
    c = core.create_namespaced_config_map("default", cm("same"))
    again = core.replace_namespaced_config_map("same", "default", c)
    assert again.metadata.resource_version == c.metadata.resource_version


def test_merge_patch_json_patch_and_unsupported_patch_types(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map("default", cm("p", labels={"a": "1", "b": "2"}))
    out = core.patch_namespaced_config_map("p", "default", {"metadata": {"labels": {"a": None, "c": "3"}}},
                                           _content_type="application/merge-patch+json")
    assert out.metadata.labels == {"b": "2", "c": "3"}
    out = core.patch_namespaced_config_map("p", "default", [
        {"op": "add", "path": "/data/new", "value": "x"},
        {"op": "replace", "path": "/metadata/labels/b", "value": "20"},
        {"op": "remove", "path": "/data/k"}])
    assert out.data == {"new": "x"} and out.metadata.labels["b"] == "20"
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("p", "default", [{"op": "test", "path": "/data/new", "value": "y"}])
    assert e.value.status == 422
    # the python client sends dict bodies as strategic merge patch: the fake refuses it (415) on purpose
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("p", "default", {"data": {"z": "1"}})
    assert e.value.status == 415 and status_of(e.value)["reason"] == "UnsupportedMediaType"
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("p", "default", {"data": {"z": "1"}},
                                         _content_type="application/apply-patch+yaml", field_manager="t")
    assert e.value.status == 415
    # a merge patch that carries a stale resourceVersion is a conflict
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("p", "default", {"metadata": {"resourceVersion": "1"}, "data": {"q": "1"}},
                                         _content_type="application/merge-patch+json")
    assert e.value.status == 409


def test_label_and_field_selectors(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_pod("default", pod("p1", {"app": "kernel", "tier": "gpu"}))
    core.create_namespaced_pod("default", pod("p2", {"app": "kernel", "tier": "cpu"}))
    core.create_namespaced_pod("default", pod("p3", {"app": "gateway"}))
    core.create_namespaced_pod("default", pod("p4", {"app": "kernel", "tier": "cpu"}, nodeName="node-x"))
    fake_kube.patch_object("v1", "Pod", "p2", {"status": {"phase": "Running"}}, subresource="status")

    def names(**kw):
        return sorted(p.metadata.name for p in core.list_namespaced_pod("default", **kw).items)
    assert names(label_selector="app=kernel") == ["p1", "p2", "p4"]
    assert names(label_selector="app==kernel,tier=gpu") == ["p1"]
    assert names(label_selector="tier!=gpu") == ["p2", "p3", "p4"]  # != matches objects without the label
    assert names(label_selector="tier in (gpu, cpu)") == ["p1", "p2", "p4"]
    assert names(label_selector="tier notin (gpu)") == ["p2", "p3", "p4"]
    assert names(label_selector="tier") == ["p1", "p2", "p4"]
    assert names(label_selector="!tier") == ["p3"]
    assert names(field_selector="metadata.name=p3") == ["p3"]
    assert names(field_selector="status.phase=Running") == ["p2"]
    assert names(field_selector="status.phase!=Running,metadata.name!=p1") == ["p3", "p4"]
    assert names(field_selector="spec.nodeName=node-x") == ["p4"]
    assert names(field_selector="metadata.namespace=default", label_selector="app=gateway") == ["p3"]
    all_ns = client.CoreV1Api(kube_api).list_pod_for_all_namespaces(label_selector="app=gateway")
    assert [p.metadata.name for p in all_ns.items] == ["p3"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod("default", field_selector="spec.bogus=1")
    assert e.value.status == 400 and "field label not supported" in status_of(e.value)["message"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod("default", label_selector="a in (b")
    assert e.value.status == 400


def test_list_pagination(kube_api):
    core = client.CoreV1Api(kube_api)
    for i in range(7):
        core.create_namespaced_config_map("default", cm(f"page-{i}"))
    seen, token, pages = [], None, 0
    while True:
        lst = core.list_namespaced_config_map("default", limit=3, _continue=token)
        seen += [c.metadata.name for c in lst.items]
        pages += 1
        token = lst.metadata._continue
        if not token:
            break
    assert pages == 3 and seen == sorted(f"page-{i}" for i in range(7))


def test_secret_string_data_is_stored_as_base64(kube_api):
    core = client.CoreV1Api(kube_api)
    s = core.create_namespaced_secret("default", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                                  "stringData": {"token": "abc"}})
    assert s.data == {"token": "YWJj"} and s.type == "Opaque"


def test_pod_spec_is_immutable(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_pod("default", pod("imm"))
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_pod("imm", "default", {"spec": {"restartPolicy": "Never"}},
                                  _content_type="application/merge-patch+json")
    assert e.value.status == 422 and "pod updates may not change fields" in status_of(e.value)["message"]
    out = core.patch_namespaced_pod("imm", "default", [{"op": "replace", "path": "/spec/containers/0/image",
                                                        "value": "busybox:1.37"}])
    assert out.spec.containers[0].image == "busybox:1.37"


# ----------------------------------------------------------------------------------------------------------
# watch
# ----------------------------------------------------------------------------------------------------------


def test_watch_from_resource_version_replays_history(kube_api):
    core = client.CoreV1Api(kube_api)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("w1"))
    core.patch_namespaced_config_map("w1", "default", {"data": {"k": "v2"}},
                                     _content_type="application/merge-patch+json")
    core.delete_namespaced_config_map("w1", "default")
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=1):
        events.append((ev["type"], ev["object"].metadata.name, ev["object"].data))
    assert events == [("ADDED", "w1", {"k": "v"}), ("MODIFIED", "w1", {"k": "v2"}), ("DELETED", "w1", {"k": "v2"})]


def test_watch_without_resource_version_starts_with_synthetic_added(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map("default", cm("existing"))
    got = [(e["type"], e["object"].metadata.name)
           for e in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=1)]
    assert got == [("ADDED", "existing")]


def test_watch_too_old_resource_version_gets_410(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    old = core.create_namespaced_config_map("default", cm("old")).metadata.resource_version
    core.create_namespaced_config_map("default", cm("newer"))
    fake_kube.expire_history()
    # the python client retries once after a 410, then raises: the caller must re-list
    with pytest.raises(ApiException) as e:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=old):
            pass
    assert e.value.status == 410 and "Expired" in e.value.reason and "too old resource version" in e.value.reason
    # the raw event, as the API server sends it: HTTP 200, then one ERROR event, then the end of the stream
    import json
    r = requests.get(fake_kube.url + "/api/v1/namespaces/default/configmaps",
                     params={"watch": "true", "resourceVersion": old}, timeout=10)
    assert r.status_code == 200
    lines = [json.loads(x) for x in r.text.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0]["type"] == "ERROR"
    assert lines[0]["object"]["kind"] == "Status" and lines[0]["object"]["code"] == 410
    assert lines[0]["object"]["reason"] == "Expired"
    # re-list, then watch from the fresh resourceVersion works
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    assert list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv,
                                     timeout_seconds=1)) == []


def test_bounded_history_expires_old_versions(fake_kube_factory, tmp_path):
    kube = fake_kube_factory(history_limit=5)
    api = kubernetes.config.new_client_from_config(config_file=str(kube.write_kubeconfig(tmp_path / "kc")))
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map("default", cm("h0")).metadata.resource_version
    for i in range(1, 10):
        core.create_namespaced_config_map("default", cm(f"h{i}"))
    with pytest.raises(ApiException) as e:
        list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=first))
    assert e.value.status == 410
    api.close()


def test_watch_selectors_and_objects_leaving_the_selection(kube_api):
    core = client.CoreV1Api(kube_api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("in", labels={"kernel": "yes"}))
    core.create_namespaced_config_map("default", cm("out", labels={"kernel": "no"}))
    core.patch_namespaced_config_map("in", "default", {"metadata": {"labels": {"kernel": "no"}}},
                                     _content_type="application/merge-patch+json")
    core.patch_namespaced_config_map("out", "default", {"metadata": {"labels": {"kernel": "yes"}}},
                                     _content_type="application/merge-patch+json")
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, "default", label_selector="kernel=yes", resource_version=rv,
        timeout_seconds=1)]
    # like the watch cache: leaving the selection is a DELETED, entering it an ADDED
    assert events == [("ADDED", "in"), ("DELETED", "in"), ("ADDED", "out")]
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, "default", field_selector="metadata.name=out", resource_version=rv,
        timeout_seconds=1)]
    assert [t for t, _ in events] == ["ADDED", "MODIFIED"]


def test_watch_live_events_bookmarks_and_timeout(kube_api, fake_kube):
    core = client.CoreV1Api(kube_api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    w = watch.Watch()
    got = []

    def produce():
        time.sleep(0.3)
        core.create_namespaced_config_map("default", cm("live"))
    t = threading.Thread(target=produce)
    t.start()
    t0 = time.monotonic()
    for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=3,
                       allow_watch_bookmarks=True):
        got.append(ev["type"])
        if "BOOKMARK" in got and "ADDED" in got:
            w.stop()
    t.join()
    assert got[0] == "ADDED" and "BOOKMARK" in got
    assert time.monotonic() - t0 < 3.5
    # timeoutSeconds ends the stream (the server closes it cleanly)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    t0 = time.monotonic()
    assert list(watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=rv,
                                     timeout_seconds=1)) == []
    assert 0.8 < time.monotonic() - t0 < 3


# ----------------------------------------------------------------------------------------------------------
# status subresource, generation, finalizers, garbage collection, namespaces
# ----------------------------------------------------------------------------------------------------------


def test_status_subresource_isolation_and_generation(kube_api):
    apps = client.AppsV1Api(kube_api)
    d = apps.create_namespaced_deployment("default", deployment("gw"))
    assert d.metadata.generation == 1 and d.spec.strategy.type == "RollingUpdate"
    # status written through the main endpoint is ignored
    out = apps.patch_namespaced_deployment("gw", "default", {"status": {"replicas": 5}},
                                           _content_type="application/merge-patch+json")
    assert out.status.replicas is None and out.metadata.generation == 1
    # /status sets status and ignores spec; generation unchanged
    out = apps.patch_namespaced_deployment_status("gw", "default",
                                                  {"spec": {"replicas": 9}, "status": {"replicas": 1,
                                                                                      "observedGeneration": 1}},
                                                  _content_type="application/merge-patch+json")
    assert out.status.replicas == 1 and out.spec.replicas == 1 and out.metadata.generation == 1
    # metadata-only change: no new generation; spec change: generation + 1
    out = apps.patch_namespaced_deployment("gw", "default", {"metadata": {"labels": {"x": "y"}}},
                                           _content_type="application/merge-patch+json")
    assert out.metadata.generation == 1
    out = apps.patch_namespaced_deployment("gw", "default", {"spec": {"replicas": 3}},
                                           _content_type="application/merge-patch+json")
    assert out.metadata.generation == 2 and out.status.replicas == 1
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("gw", "default", {"spec": {"selector": {"matchLabels": {"app": "x"}}}},
                                         _content_type="application/merge-patch+json")
    assert e.value.status == 422


def test_finalizers_delay_deletion(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_config_map("default", cm("fin", finalizers=["example.com/keep"]))
    core.delete_namespaced_config_map("fin", "default")
    got = core.read_namespaced_config_map("fin", "default")
    assert got.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as e:  # no new finalizers once deleting
        core.patch_namespaced_config_map("fin", "default", {"metadata": {"finalizers": ["a/b", "example.com/keep"]}},
                                         _content_type="application/merge-patch+json")
    assert e.value.status == 422
    core.patch_namespaced_config_map("fin", "default", {"metadata": {"finalizers": None}},
                                     _content_type="application/merge-patch+json")
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("fin", "default")
    assert e.value.status == 404


def test_pods_without_finalizers_go_at_once(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespaced_pod("default", pod("gone"))
    core.delete_namespaced_pod("gone", "default", grace_period_seconds=30)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("gone", "default")
    assert e.value.status == 404


def _owner_ref(obj, kind: str, api_version: str) -> dict:
    return {"apiVersion": api_version, "kind": kind, "name": obj.metadata.name, "uid": obj.metadata.uid,
            "controller": True, "blockOwnerDeletion": True}


def test_owner_references_garbage_collection(kube_api):
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    dep = apps.create_namespaced_deployment("default", deployment("kern"))
    rs = apps.create_namespaced_replica_set("default", {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "kern-1", "ownerReferences": [_owner_ref(dep, "Deployment", "apps/v1")]},
        "spec": {"selector": {"matchLabels": {"app": "kern"}},
                 "template": {"metadata": {"labels": {"app": "kern"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
    p = pod("kern-1-abcde", {"app": "kern"})
    p["metadata"]["ownerReferences"] = [_owner_ref(rs, "ReplicaSet", "apps/v1")]
    core.create_namespaced_pod("default", p)
    svc = core.create_namespaced_service("default", {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "kern", "ownerReferences": [_owner_ref(dep, "Deployment", "apps/v1")]},
        "spec": {"ports": [{"port": 8888}], "selector": {"app": "kern"}}})
    assert svc.spec.cluster_ip and svc.spec.ports[0].target_port == 8888
    apps.delete_namespaced_deployment("kern", "default")  # background propagation: cascades to the pod
    wait_until(lambda: not core.list_namespaced_pod("default").items and
               not apps.list_namespaced_replica_set("default").items and
               not core.list_namespaced_service("default").items, 5, message="dependents collected")

    # orphan: dependents stay, without the owner reference
    owner = core.create_namespaced_config_map("default", cm("owner"))
    child = cm("child")
    child["metadata"]["ownerReferences"] = [_owner_ref(owner, "ConfigMap", "v1")]
    core.create_namespaced_config_map("default", child)
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    time.sleep(0.3)
    assert not core.read_namespaced_config_map("child", "default").metadata.owner_references

    # foreground: the owner waits (deletionTimestamp + foregroundDeletion) until its dependents are gone
    owner = core.create_namespaced_config_map("default", cm("fg-owner"))
    child = cm("fg-child", finalizers=["example.com/hold"])
    child["metadata"]["ownerReferences"] = [_owner_ref(owner, "ConfigMap", "v1")]
    core.create_namespaced_config_map("default", child)
    core.delete_namespaced_config_map("fg-owner", "default", propagation_policy="Foreground")
    got = core.read_namespaced_config_map("fg-owner", "default")
    assert got.metadata.deletion_timestamp and "foregroundDeletion" in got.metadata.finalizers
    wait_until(lambda: core.read_namespaced_config_map("fg-child", "default").metadata.deletion_timestamp, 5)
    core.patch_namespaced_config_map("fg-child", "default", {"metadata": {"finalizers": None}},
                                     _content_type="application/merge-patch+json")

    def owner_gone():
        try:
            core.read_namespaced_config_map("fg-owner", "default")
            return False
        except ApiException as e:
            return e.status == 404
    wait_until(owner_gone, 5, message="foreground owner removed")


def test_namespace_deletion(kube_api):
    core = client.CoreV1Api(kube_api)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant"}})
    core.create_namespaced_config_map("tenant", cm("held", finalizers=["example.com/hold"]))
    core.create_namespaced_pod("tenant", pod("p"))
    core.delete_namespace("tenant")
    ns = core.read_namespace("tenant")
    assert ns.status.phase == "Terminating"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map("tenant", cm("late"))
    assert e.value.status == 403 and status_of(e.value)["reason"] == "Forbidden"
    wait_until(lambda: not core.list_namespaced_pod("tenant").items, 5)
    core.patch_namespaced_config_map("held", "tenant", {"metadata": {"finalizers": None}},
                                     _content_type="application/merge-patch+json")

    def gone():
        return "tenant" not in {n.metadata.name for n in core.list_namespace().items}
    wait_until(gone, 5, message="namespace removed")


# ----------------------------------------------------------------------------------------------------------
# custom resources
# ----------------------------------------------------------------------------------------------------------


def kernel_crd(scope: str = "Namespaced", plural: str = "jupyterkernels", kind: str = "JupyterKernel") -> dict:
    """Shaped like the Go operator's CRDs (OPERATOR.md §1): status subresource, preserve-unknown at the root,
    and ``spec.template.metadata`` emitted as a bare ``type: object``."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.kubeflow.tkestack.io"},
        "spec": {"group": "kubeflow.tkestack.io", "scope": scope,
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                 "versions": [{"name": "v1alpha1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {
                                   "type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                   "properties": {
                                       "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                       "metadata": {"type": "object"},
                                       "spec": {"type": "object", "properties": {
                                           "replicas": {"type": "integer", "minimum": 0},
                                           "template": {"type": "object", "properties": {
                                               "metadata": {"type": "object"},
                                               "spec": {"type": "object",
                                                        "x-kubernetes-preserve-unknown-fields": True}}}}},
                                       "status": {"type": "object", "properties": {
                                           "conditions": {"type": "array", "items": {
                                               "type": "object", "properties": {"type": {"type": "string"},
                                                                                "status": {"type": "string"}}}}}}}}}}]}}


def test_custom_resource_definitions(kube_api):
    ext = client.ApiextensionsV1Api(kube_api)
    crd = ext.create_custom_resource_definition(kernel_crd())
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    ext.create_custom_resource_definition(kernel_crd("Cluster", "jupyterkernelspecs", "JupyterKernelSpec"))
    res = {r.name: r for r in client.CustomObjectsApi(kube_api).get_api_resources(
        "kubeflow.tkestack.io", "v1alpha1").resources}
    assert res["jupyterkernels"].namespaced and not res["jupyterkernelspecs"].namespaced
    assert "jupyterkernels/status" in res

    co = client.CustomObjectsApi(kube_api)
    g, v = "kubeflow.tkestack.io", "v1alpha1"
    obj = co.create_namespaced_custom_object(g, v, "default", "jupyterkernels", {
        "apiVersion": f"{g}/{v}", "kind": "JupyterKernel", "metadata": {"name": "k1"},
        "spec": {"replicas": 1, "unknownField": 1,
                 "template": {"metadata": {"labels": {"kernel": "k1"}}, "spec": {"containers": []}}},
        "status": {"conditions": [{"type": "Running", "status": "True"}]}, "extra": "kept"})
    # pruning: typed nested objects lose undeclared fields (the operator's pitfall), the root keeps them
    assert obj["spec"] == {"replicas": 1, "template": {"metadata": {}, "spec": {"containers": []}}}
    assert obj["extra"] == "kept"
    assert "status" not in obj  # status subresource: create ignores status
    assert obj["metadata"]["generation"] == 1
    st = co.patch_namespaced_custom_object_status(g, v, "default", "jupyterkernels", "k1", {
        "status": {"conditions": [{"type": "Running", "status": "True"}]}, "spec": {"replicas": 7}})
    assert st["status"]["conditions"][0]["type"] == "Running" and st["spec"]["replicas"] == 1
    assert st["metadata"]["generation"] == 1
    sp = co.patch_namespaced_custom_object(g, v, "default", "jupyterkernels", "k1", {"spec": {"replicas": 2}})
    assert sp["metadata"]["generation"] == 2 and sp["status"]["conditions"]
    with pytest.raises(ApiException) as e:  # schema validation
        co.patch_namespaced_custom_object(g, v, "default", "jupyterkernels", "k1", {"spec": {"replicas": -1}})
    assert e.value.status == 422 and status_of(e.value)["reason"] == "Invalid"
    lst = co.list_namespaced_custom_object(g, v, "default", "jupyterkernels")
    assert lst["kind"] == "JupyterKernelList" and [i["metadata"]["name"] for i in lst["items"]] == ["k1"]
    cluster = co.create_cluster_custom_object(g, v, "jupyterkernelspecs", {
        "apiVersion": f"{g}/{v}", "kind": "JupyterKernelSpec", "metadata": {"name": "python3"}, "spec": {}})
    assert "namespace" not in cluster["metadata"]
    # deleting the CRD deletes its instances and unregisters the resource
    ext.delete_custom_resource_definition("jupyterkernels.kubeflow.tkestack.io")

    def unregistered():
        try:
            co.list_namespaced_custom_object(g, v, "default", "jupyterkernels")
            return False
        except ApiException as e:
            return e.status == 404
    wait_until(unregistered, 5, message="CRD removed")


def test_custom_resource_update_requires_resource_version(kube_api):
    client.ApiextensionsV1Api(kube_api).create_custom_resource_definition(kernel_crd())
    co = client.CustomObjectsApi(kube_api)
    g, v = "kubeflow.tkestack.io", "v1alpha1"
    obj = co.create_namespaced_custom_object(g, v, "default", "jupyterkernels", {
        "apiVersion": f"{g}/{v}", "kind": "JupyterKernel", "metadata": {"name": "k"}, "spec": {}})
    del obj["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as e:
        co.replace_namespaced_custom_object(g, v, "default", "jupyterkernels", "k", obj)
    assert e.value.status == 422 and "must be specified for an update" in status_of(e.value)["message"]
