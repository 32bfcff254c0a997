"""Issue 19 items 1 and 4 (gateway): image pre-pulling DaemonSets per scheduling profile of the offered kernelspecs,
`status.prePull` from their status, `status.kernelStates` from the kernel pods, and an upstream Enterprise Gateway
`spec.image`. The real controller binary against the fake API server (which runs no DaemonSet controller: the test
writes the DaemonSets' status as one would); the no-op the pods run is compiled and run in a root without a shell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support import GROUP, VERSION, Controller, condition, core_path, cr_path, kernel_pod, wait_until

NS = "prepull"
REPO = Path(__file__).resolve().parents[2]
DS = f"/apis/apps/v1/namespaces/{NS}/daemonsets"
GPU_SELECTOR = {"nvidia.com/gpu.present": "true"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def cr(kind: str, name: str, spec: dict) -> dict:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": kind, "metadata": {"name": name}, "spec": spec}


def daemonsets(fake, gateway: str) -> dict[str, dict]:
    items = fake.api.get(DS, labelSelector=f"app.kubernetes.io/component=prepull,elastic-jupyter.io/gateway={gateway}")
    return {d["metadata"]["name"]: d for d in items["items"]}


def images(ds: dict) -> list[str]:
    """The images pulled by a DaemonSet (its init containers after the one installing the no-op)."""
    return [c["image"] for c in ds["spec"]["template"]["spec"]["initContainers"][1:]]


def status(fake, name: str) -> dict:
    return fake.get(cr_path("jupytergateways", NS, name)).get("status") or {}


@pytest.fixture(scope="module")
def controller(fake, log_dir):
    if fake.get(f"/api/v1/namespaces/{NS}") is None:
        fake.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    # as deploy/samples/gpu-kernels.yaml: a GPU template with a node selector and a toleration, a CPU kernelspec
    fake.api.post(cr_path("jupyterkerneltemplates", NS), cr("JupyterKernelTemplate", "gpu-kernel", {"template": {"spec": {
        "nodeSelector": GPU_SELECTOR, "tolerations": [GPU_TOLERATION],
        "containers": [{"name": "kernel", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}))
    fake.api.post(cr_path("jupyterkernelspecs", NS), cr("JupyterKernelSpec", "python-gpu", {
        "image": "example.org/kernel:gpu", "template": {"name": "gpu-kernel"}}))
    fake.api.post(cr_path("jupyterkernelspecs", NS), cr("JupyterKernelSpec", "python-cpu", {"image": "example.org/kernel:cpu"}))
    fake.api.post(cr_path("jupyterkernelspecs", NS), cr("JupyterKernelSpec", "python-small", {"image": "example.org/kernel:small"}))
    c = Controller(fake.kubeconfig_for("controller-prepull"), log_dir, name="controller-prepull").wait_ready()
    yield c
    assert c.stop() == 0


def test_daemonsets_follow_the_offered_kernelspecs_and_report_progress(fake, controller):
    policy = {"maxResources": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": 2}}
    fake.api.post(cr_path("jupytergateways", NS), cr("JupyterGateway", "gw", {"kernels": ["python-cpu"], "kernelPolicy": policy}))
    found = wait_until(lambda: daemonsets(fake, "gw") or None, message="the pre-pull DaemonSet", details=controller.process.log_tail)
    assert len(found) == 1
    (cpu_name, cpu), = found.items()
    assert cpu_name.startswith("gw-prepull-") and images(cpu) == ["example.org/kernel:cpu"]
    pod = cpu["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
    assert pod["initContainers"][0]["image"] == "elastic-jupyter:test"
    assert pod["initContainers"][1]["command"] == ["/prepull/noop"], "the kernel image runs the no-op, never a shell"
    assert pod["containers"][0]["args"] == ["pause"] and pod["containers"][0]["image"] == "elastic-jupyter:test"
    owner = cpu["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "JupyterGateway" and owner["name"] == "gw" and owner["controller"] is True

    # adding the GPU kernelspec adds a DaemonSet with its scheduling fields; a CPU one joins the CPU DaemonSet
    fake.api.merge_patch(cr_path("jupytergateways", NS, "gw"), {"spec": {"kernels": ["python-cpu", "python-gpu", "python-small"]}})
    found = wait_until(lambda: (lambda d: d if len(d) == 2 and len(images(d.get(cpu_name, cpu))) == 2 else None)(daemonsets(fake, "gw")),
                       message="the GPU DaemonSet", details=controller.process.log_tail)
    assert images(found[cpu_name]) == ["example.org/kernel:cpu", "example.org/kernel:small"]
    gpu_name, gpu = next((n, d) for n, d in found.items() if n != cpu_name)
    gpu_pod = gpu["spec"]["template"]["spec"]
    assert images(gpu) == ["example.org/kernel:gpu"]
    assert gpu_pod["nodeSelector"] == GPU_SELECTOR and gpu_pod["tolerations"] == [GPU_TOLERATION]
    assert all("nvidia.com/gpu" not in str(c.get("resources")) for c in gpu_pod["containers"] + gpu_pod["initContainers"])

    # what the DaemonSet controller reports becomes status.prePull
    for name, (ready, desired) in ((cpu_name, (2, 3)), (gpu_name, (1, 1))):
        ds = fake.api.get(f"{DS}/{name}")
        ds["status"] = {"desiredNumberScheduled": desired, "numberReady": ready, "currentNumberScheduled": desired,
                        "numberMisscheduled": 0}
        fake.api.put(f"{DS}/{name}/status", ds)
    pre = wait_until(lambda: (status(fake, "gw").get("prePull") or {}).get("progress") == "5/7" and status(fake, "gw")["prePull"],
                     timeout=40, message="status.prePull", details=controller.process.log_tail)
    assert {i["image"]: (i["pulled"], i["desired"]) for i in pre["images"]} == {
        "example.org/kernel:cpu": (2, 3), "example.org/kernel:small": (2, 3), "example.org/kernel:gpu": (1, 1)}

    # removing the GPU kernelspec deletes its DaemonSet; prePull off deletes the rest and the status part
    fake.api.merge_patch(cr_path("jupytergateways", NS, "gw"), {"spec": {"kernels": ["python-cpu"]}})
    wait_until(lambda: set(daemonsets(fake, "gw")) == {cpu_name}, message="the GPU DaemonSet deleted",
               details=controller.process.log_tail)
    fake.api.merge_patch(cr_path("jupytergateways", NS, "gw"), {"spec": {"prePull": {"enabled": False}}})
    wait_until(lambda: not daemonsets(fake, "gw"), message="no DaemonSet left", details=controller.process.log_tail)
    wait_until(lambda: "prePull" not in status(fake, "gw"), message="status.prePull gone", details=controller.process.log_tail)


def test_kernel_states_count_the_kernel_pods(fake, controller):
    fake.api.post(cr_path("jupytergateways", NS), cr("JupyterGateway", "counted", {"prePull": {"enabled": False}}))
    for name, phase in (("k-pending", None), ("k-running-1", "Running"), ("k-running-2", "Running"), ("k-failed", "Failed")):
        pod = fake.api.post(core_path("pods", NS), kernel_pod(name, "counted"))
        if phase:
            pod["status"] = {"phase": phase}
            fake.api.put(core_path("pods", NS, name) + "/status", pod)
    expected = {"pending": 1, "running": 2, "terminating": 0, "ended": 1}
    wait_until(lambda: status(fake, "counted").get("kernelStates") == expected, timeout=40, message="status.kernelStates",
               details=lambda: f"{status(fake, 'counted')}\n{controller.process.log_tail()}")
    assert status(fake, "counted")["kernels"] == 4


def test_an_upstream_enterprise_gateway_image_runs_ours_and_says_so(fake, controller):
    fake.api.post(cr_path("jupytergateways", NS), cr("JupyterGateway", "upstream", {"image": "elyra/enterprise-gateway:3.2.3"}))
    deployment = wait_until(lambda: fake.get(core_path("deployments", NS, "upstream", group="apps/v1")),
                            message="the gateway Deployment", details=controller.process.log_tail)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "elastic-jupyter:test"
    found = wait_until(lambda: condition(fake.get(cr_path("jupytergateways", NS, "upstream")), "EnterpriseGatewayImage"),
                       message="the EnterpriseGatewayImage condition", details=controller.process.log_tail)
    assert found["status"] == "True" and "elastic-jupyter:test runs instead" in found["message"], found
    assert status(fake, "upstream")["phase"] != "Failed"


def test_the_noop_runs_in_an_image_without_a_shell(tmp_path):
    """The pull init containers' method on a distroless-like root: no /bin/sh, no libc, only the copied no-op,
    run as the rendered command with the pods' user."""
    clang = shutil.which("clang")
    if clang is None or not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() != 0:
        pytest.skip("needs clang and root (chroot)")
    root = tmp_path / "distroless"
    (root / "prepull").mkdir(parents=True)
    # as the Dockerfile's builder stage and scripts/build-images.sh build it
    subprocess.run([clang, "-static", "-nostdlib", "-ffreestanding", "-fno-stack-protector", "-O2",
                    "-o", str(tmp_path / "noop"), str(REPO / "images" / "noop" / "noop.c")], check=True, timeout=120)
    shutil.copy2(tmp_path / "noop", root / "prepull" / "noop")  # what the install-noop init container does (cp)
    assert not (root / "bin" / "sh").exists() and len(list(root.rglob("*"))) == 2
    done = subprocess.run(["chroot", "--userspec=65532:65532", str(root), "/prepull/noop"], capture_output=True, timeout=30)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b"", done
    # and a shell command would not have worked there
    assert subprocess.run(["chroot", "--userspec=65532:65532", str(root), "/bin/sh", "-c", "true"],
                          capture_output=True, timeout=30).returncode != 0
