"""The controller survives 409 conflicts and dropped watches, and with two instances only the leader writes."""

from __future__ import annotations

import time

import pytest
import yaml

from support import GROUP, VERSION, Controller, cr_path, env_of, wait_until

NS = "default"


def gateway(name: str, **spec) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterGateway", "metadata": {"name": name}, "spec": spec}


def deployment_env(fake, name: str) -> dict:
    d = fake.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{name}")
    return env_of(d["spec"]["template"]["spec"]["containers"][0]) if d else {}


def env_is(fake, name: str, key: str, value: str):
    return lambda: deployment_env(fake, name).get(key, {}).get("value") == value


def controller_writes(fake, since: int, user: str | None = None) -> list[dict]:
    out = []
    for r in fake.requests(since=since):
        if r["method"] == "GET" or "/leases" in r["path"]:
            continue
        if user is None or r["user"] == user:
            out.append(r)
    return out


@pytest.fixture
def single(fake, log_dir):
    c = Controller(fake.kubeconfig_for("controller-single"), log_dir, name="controller-single").wait_ready()
    yield c
    assert c.stop() == 0


def test_conflicts_are_retried(fake, single):
    fake.api.post(cr_path("jupytergateways"), gateway("conflicted", cullIdleTimeout=100))
    wait_until(env_is(fake, "conflicted", "EG_CULL_IDLE_TIMEOUT", "100"), message="the first rollout",
               details=single.process.log_tail)
    # Every update of the Deployment and status write answers 409 Conflict, four times in a row.
    rule = fake.add_fault(method="PUT", path="/deployments/conflicted$", status=409, count=4, userAgent="^elastic-jupyter")
    status_rule = fake.add_fault(method="PATCH", path="/jupytergateways/conflicted/status$", status=409, count=2,
                                 userAgent="^elastic-jupyter")
    fake.api.merge_patch(cr_path("jupytergateways", name="conflicted"), {"spec": {"cullIdleTimeout": 200}})
    wait_until(env_is(fake, "conflicted", "EG_CULL_IDLE_TIMEOUT", "200"), timeout=30, message="the update after conflicts",
               details=single.process.log_tail)
    hits = {f["id"]: f["hits"] for f in fake.faults()}
    assert hits[rule["id"]] == 4 and hits[status_rule["id"]] >= 1, hits
    wait_until(lambda: fake.get(cr_path("jupytergateways", name="conflicted"))["status"]["observedGeneration"] == 2,
               message="status written after the conflicts")
    assert single.process.alive
    fake.clear_faults()


def test_dropped_watches_are_resumed(fake, single):
    fake.api.post(cr_path("jupytergateways"), gateway("watched", cullIdleTimeout=10))
    wait_until(env_is(fake, "watched", "EG_CULL_IDLE_TIMEOUT", "10"), message="the first rollout")
    for round_ in range(2):
        since = fake.requests()[-1]["seq"]
        assert fake.drop_watches(abrupt=round_ == 0) > 0
        # The informers list/watch again; a change made right after is still seen.
        fake.api.merge_patch(cr_path("jupytergateways", name="watched"), {"spec": {"cullIdleTimeout": 20 + round_}})
        wait_until(env_is(fake, "watched", "EG_CULL_IDLE_TIMEOUT", str(20 + round_)), timeout=30,
                   message=f"the change after dropped watches (round {round_})", details=single.process.log_tail)
        rewatched = [r for r in fake.requests(since=since) if r["watch"] and "/jupytergateways" in r["path"]]
        assert rewatched, "the gateway watch was reopened"
    # A deleted child is recreated (its watch works after the drop).
    fake.api.delete(f"/apis/apps/v1/namespaces/{NS}/deployments/watched")
    wait_until(lambda: deployment_env(fake, "watched"), message="the deleted Deployment recreated")


def test_a_missing_gateway_is_a_condition_then_wired_when_it_appears(fake, single):
    notebook = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JupyterNotebook", "metadata": {"name": "early"},
                "spec": {"gateway": {"name": "late-gateway"}, "storage": {"enabled": False}}}
    fake.api.post(cr_path("jupyternotebooks"), notebook)

    def pending():
        obj = fake.get(cr_path("jupyternotebooks", name="early"))
        status = obj.get("status") or {}
        gateway = [c for c in status.get("conditions") or [] if c["type"] == "GatewayReady"]
        return status.get("phase") == "Pending" and gateway and gateway[0]["reason"] == "GatewayNotFound" and obj
    wait_until(pending, message="GatewayReady=False (GatewayNotFound)", details=single.process.log_tail)
    assert fake.get(f"/apis/apps/v1/namespaces/{NS}/deployments/early") is None
    time.sleep(1.0)
    assert single.process.alive
    retries = [line for line in single.process.log_tail(400).splitlines()
               if "reconcile.key=default/early" in line and "waiting for the gateway" in line]
    assert len(retries) >= 2, "the notebook is retried (with backoff)"
    assert 'result="requeue"' in single.metrics()

    fake.api.post(cr_path("jupytergateways"), gateway("late-gateway"))
    wait_until(lambda: deployment_env(fake, "early").get("JUPYTER_GATEWAY_URL", {}).get("value")
               == f"http://late-gateway.{NS}:8888", timeout=30, message="the notebook wired once the gateway exists",
               details=single.process.log_tail)


def test_only_the_leader_writes(fake, log_dir):
    lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/elastic-jupyter-controller"
    timing = ["--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.4", "--lease-namespace", NS]
    a = Controller(fake.kubeconfig_for("leader-a"), log_dir, name="leader-a", leader_elect=True, extra=timing)
    b = Controller(fake.kubeconfig_for("leader-b"), log_dir, name="leader-b", leader_elect=True, extra=timing)
    try:
        a.wait_ready()
        b.wait_ready()
        holder = wait_until(lambda: (fake.get(lease_path) or {}).get("spec", {}).get("holderIdentity"),
                            message="a lease holder")
        leader, follower = (a, b) if holder == "leader-a" else (b, a)
        wait_until(lambda: "elastic_jupyter_controller_synced 1" in leader.metrics(), message="the leader's caches")
        assert "elastic_jupyter_controller_leader 0" in follower.metrics()

        since = fake.requests()[-1]["seq"]
        fake.api.post(cr_path("jupytergateways"), gateway("led", cullIdleTimeout=30))
        wait_until(env_is(fake, "led", "EG_CULL_IDLE_TIMEOUT", "30"), message="the leader's rollout",
                   details=leader.process.log_tail)
        time.sleep(1.0)
        assert controller_writes(fake, since, user=follower.name) == [], "the follower wrote"
        assert controller_writes(fake, since, user=leader.name), "the leader wrote"
        assert not [r for r in fake.requests(since=since) if r["user"] == follower.name and r["watch"]], \
            "a follower does not even watch"

        # The leader stops gracefully: it releases the lease, and the follower takes over at once.
        assert leader.stop() == 0
        wait_until(lambda: (fake.get(lease_path) or {}).get("spec", {}).get("holderIdentity") == follower.name,
                   timeout=15, message="the follower takes the lease", details=follower.process.log_tail)
        since = fake.requests()[-1]["seq"]
        fake.api.merge_patch(cr_path("jupytergateways", name="led"), {"spec": {"cullIdleTimeout": 31}})
        wait_until(env_is(fake, "led", "EG_CULL_IDLE_TIMEOUT", "31"), timeout=20, message="the new leader's rollout",
                   details=follower.process.log_tail)
        assert controller_writes(fake, since, user=follower.name)

        # Leader election needs only the namespaced Role of deploy/controller.
        from support import REPO_ROOT, rbac_allows, request_permission
        role = yaml.safe_load_all((REPO_ROOT / "deploy" / "controller" / "leader-election-role.yaml").read_text())
        rules = next(d for d in role if d["kind"] == "Role")["rules"]
        used = {request_permission(r["method"], r["path"], r["watch"]) for r in fake.requests(path="/leases")}
        assert used and all(rbac_allows(rules, *p) for p in used), used
    finally:
        assert a.stop() in (0, None) and b.stop() in (0, None)
