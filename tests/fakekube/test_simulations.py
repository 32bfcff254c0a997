"""The kubelet double's failure simulations, selected by annotation or by image name."""

from __future__ import annotations

import pytest

from .kubelet import SIMULATE_ANNOTATION, UNSCHEDULABLE_GPU_MESSAGE
from .testing import wait_until


def sim_pod(name: str, simulate: str | None = None, image: str = "python:3.11-slim", restart: str = "Never",
            code: str = "import time; time.sleep(60)", annotations: dict | None = None, **container) -> dict:
    ann = dict(annotations or {})
    if simulate:
        ann[SIMULATE_ANNOTATION] = simulate
    c = {"name": "kernel", "image": image, "command": ["python", "-c", code], **container}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": ann},
            "spec": {"restartPolicy": restart, "containers": [c]}}


def status(kube, name) -> dict:
    return (kube.get_object("v1", "Pod", name) or {}).get("status") or {}


def waiting_reason(kube, name) -> str | None:
    cs = (status(kube, name).get("containerStatuses") or [{}])[0]
    return ((cs.get("state") or {}).get("waiting") or {}).get("reason")


def events(kube, name) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e["message"]) for e in kube.list_objects(
        "v1", "Event", "default", field_selector=f"involvedObject.name={name}")]


@pytest.mark.parametrize("how", ["image", "annotation"])
def test_err_image_pull_then_image_pull_back_off(fake_kube, fake_kubelet, how):
    if how == "image":
        body = sim_pod("pull", image="registry.example/does-not-exist:1.0")
    else:
        body = sim_pod("pull", simulate="ErrImagePull")
    fake_kube.create_object(body)
    wait_until(lambda: waiting_reason(fake_kube, "pull") == "ErrImagePull", 10)
    cs = status(fake_kube, "pull")["containerStatuses"][0]
    assert "failed to pull and unpack image" in cs["state"]["waiting"]["message"]
    wait_until(lambda: waiting_reason(fake_kube, "pull") == "ImagePullBackOff", 10)
    cs = status(fake_kube, "pull")["containerStatuses"][0]
    assert cs["state"]["waiting"]["message"].startswith("Back-off pulling image")
    st = status(fake_kube, "pull")
    assert st["phase"] == "Pending" and st["podIP"]
    ev = events(fake_kube, "pull")
    assert ("Warning", "Failed", "Error: ErrImagePull") in ev
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in ev
    assert any(r == "BackOff" for _, r, _ in ev)


def test_invalid_image_name(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("bad1", image="Python:Latest"))
    fake_kube.create_object(sim_pod("bad2", simulate="InvalidImageName"))
    for name in ("bad1", "bad2"):
        wait_until(lambda: waiting_reason(fake_kube, name) == "InvalidImageName", 10)
        assert status(fake_kube, name)["phase"] == "Pending"
    assert ("Warning", "Failed", "Error: InvalidImageName") in events(fake_kube, "bad1")


def test_unschedulable(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("nogpu", simulate="Unschedulable"))
    gpu = sim_pod("wants-gpu", resources={"limits": {"nvidia.com/gpu": "1"}})
    fake_kube.create_object(gpu)
    for name in ("nogpu", "wants-gpu"):
        wait_until(lambda: status(fake_kube, name).get("conditions"), 10)
        st = status(fake_kube, name)
        assert st["phase"] == "Pending" and "podIP" not in st
        assert st["conditions"] == [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                     "lastTransitionTime": st["conditions"][0]["lastTransitionTime"],
                                     "reason": "Unschedulable", "message": UNSCHEDULABLE_GPU_MESSAGE}]
        assert not fake_kube.get_object("v1", "Pod", name)["spec"].get("nodeName")
        assert ("Warning", "FailedScheduling", UNSCHEDULABLE_GPU_MESSAGE) in events(fake_kube, name)
    # capacity appears (here: the annotation goes away): the pod is scheduled after all
    fake_kube.patch_object("v1", "Pod", "nogpu", {"metadata": {"annotations": {SIMULATE_ANNOTATION: None}}})
    wait_until(lambda: status(fake_kube, "nogpu").get("phase") == "Running", 10)


def test_triggered_scale_up_then_scheduled(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("scale", simulate="TriggeredScaleUp",
                                    annotations={"fake.kubelet/scale-up-seconds": "1"}))
    wait_until(lambda: any(r == "TriggeredScaleUp" for _, r, _ in events(fake_kube, "scale")), 10)
    st = status(fake_kube, "scale")
    assert st["phase"] == "Pending" and st["conditions"][0]["reason"] == "Unschedulable"
    ev = next(e for e in fake_kube.list_objects("v1", "Event", "default") if e["reason"] == "TriggeredScaleUp")
    assert ev["source"]["component"] == "cluster-autoscaler" and ev["involvedObject"]["kind"] == "Pod"
    wait_until(lambda: status(fake_kube, "scale").get("phase") == "Running", 10)
    assert ("Normal", "Scheduled", "Successfully assigned default/scale to fake-node") in events(fake_kube, "scale")


def test_crash_loop_back_off(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("crashy", simulate="CrashLoopBackOff", restart="Always"))
    fake_kube.create_object(sim_pod("crashy2", restart="OnFailure", code="import sys; sys.exit(2)"))
    for name in ("crashy", "crashy2"):
        wait_until(lambda: waiting_reason(fake_kube, name) == "CrashLoopBackOff", 10)
        wait_until(lambda: status(fake_kube, name)["containerStatuses"][0]["restartCount"] >= 2, 10,
                   message="restartCount grows")
        cs = status(fake_kube, name)["containerStatuses"][0]
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert status(fake_kube, name)["phase"] == "Running"
    assert any(r == "BackOff" and "Back-off restarting failed container kernel" in m
               for _, r, m in events(fake_kube, "crashy"))


def test_oom_killed(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("oom", simulate="OOMKilled"))
    wait_until(lambda: status(fake_kube, "oom").get("phase") == "Failed", 10)
    term = status(fake_kube, "oom")["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137


def test_never_ready(fake_kube, fake_kubelet):
    fake_kube.create_object(sim_pod("lazy", simulate="NeverReady"))
    wait_until(lambda: status(fake_kube, "lazy").get("phase") == "Running", 10)
    conds = {c["type"]: c for c in status(fake_kube, "lazy")["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "ContainersNotReady"
