"""The full path REST → pod → ZeroMQ → real ipykernel, against the fake cluster.

A kernel of a pod kernelspec is a Pod (plus a Secret with its connection file) that the kubelet double runs as a
local process on its own 127.0.0.X; the gateway reaches it at the pod IP it learned from its watch.
"""

from __future__ import annotations

import json
import time

import pytest

import podkit
from podkit import KERNEL_NS, status_messages, wait_until


def test_execute_interrupt_restart_in_place_and_shutdown(cluster, specs_dir, gateways):
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-path")
    kid = gw.start_kernel("pod_python", {"KERNEL_USERNAME": "Alice.Smith@example.org"})

    # -- the pod: name, labels, Secret, owner ------------------------------------------------------
    pod = cluster.kernel_pod(kid)
    assert pod is not None, cluster.kernel_objects()
    name = pod["metadata"]["name"]
    assert name == f"alice-smith-example-org-{kid}" and len(name) <= 63
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "elastic-jupyter"
    assert labels["app.kubernetes.io/component"] == "kernel"
    assert labels["kernel_id"] == kid
    assert labels["component"] == "kernel" and labels["app"] == "enterprise-gateway"
    assert labels["elastic-jupyter.io/gateway"] == "gw-path"
    assert labels["elastic-jupyter.io/user"] == "Alice.Smith-example.org"
    assert pod["metadata"]["annotations"]["ej-test/kernel"] == kid  # template placeholder substituted
    assert pod["status"]["phase"] == "Running"
    pod_ip = pod["status"]["podIP"]
    assert pod_ip.startswith("127.") and pod_ip != "127.0.0.1"  # the pod's own loopback address
    container = pod["spec"]["containers"][0]
    assert container["command"][:2] == ["/bin/sh", "-c"] and container["command"][3] == "ej-kernel"
    assert 'while :; do "$@"' in container["command"][2]
    assert container["command"][4:] == [str(podkit.VENV_PY), "-m", "ipykernel_launcher", "-f",
                                        "/etc/jupyter-kernel/connection.json"]
    secret = cluster.kube.get_object("v1", "Secret", f"{name}-connection", KERNEL_NS)
    assert secret is not None
    owners = secret["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [("Pod", name, pod["metadata"]["uid"])]
    import base64
    conn = json.loads(base64.b64decode(secret["data"]["connection.json"]))
    assert conn["ip"] == "0.0.0.0" and conn["transport"] == "tcp" and conn["key"]

    with gw.ws(kid) as ws:
        # -- execute, in the pod ------------------------------------------------------------------
        out = ws.execute_ok("import os, socket; print(os.environ['FAKE_POD_NAME'], os.environ['KERNEL_ID'], os.getpid())")
        pod_name_seen, kernel_id_seen, pid1 = out.split()
        assert (pod_name_seen, kernel_id_seen) == (name, kid)
        ws.execute_ok("marker = 4711")
        assert ws.execute_ok("print(marker)").strip() == "4711"

        # -- interrupt a time.sleep(60): interrupt_request on the control channel ------------------
        msg_id = ws.send_execute("import time; time.sleep(60)")
        ws.wait_for(lambda m: m["msg_type"] == "status" and m["content"].get("execution_state") == "busy"
                    and (m.get("parent_header") or {}).get("msg_id") == msg_id, 20, what="busy")
        time.sleep(0.5)
        t0 = time.monotonic()
        r = gw.rest.post(f"api/kernels/{kid}/interrupt", timeout=30)
        assert r.status_code == 204, r.text
        res = ws.collect(msg_id, timeout=20)
        assert time.monotonic() - t0 < 15
        assert res.status == "error" and res.reply.get("ename") == "KeyboardInterrupt", res.reply
        # the kernel survived its interrupt, in the same pod
        assert ws.execute_ok("print(marker)").strip() == "4711"

        # -- restart in place: same pod (uid), fresh interpreter -----------------------------------
        uid = pod["metadata"]["uid"]
        r = gw.rest.post(f"api/kernels/{kid}/restart", timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == kid
        res = ws.execute("print('marker' in globals(), os.getpid() if 'os' in globals() else 'no-os')", timeout=30)
        assert res.status == "ok", res.reply
        assert res.stdout.split() == ["False", "no-os"]
        pid2 = ws.execute_ok("import os; print(os.getpid())").strip()
        assert pid2 != pid1
        after = cluster.kernel_pod(kid)
        assert after["metadata"]["uid"] == uid
        assert after["metadata"]["name"] == name
        assert after["status"]["phase"] == "Running"
        assert after["status"]["containerStatuses"][0]["restartCount"] == 0
        assert len(cluster.pods()) == 1

    # -- shutdown: no pod, no Secret --------------------------------------------------------------
    r = gw.rest.delete(f"api/kernels/{kid}", timeout=60)
    assert r.status_code == 204, r.text
    cluster.wait_clean(timeout=20)
    assert gw.kernel_ids() == []
    # the gateway never polled a pod: everything came from its watch
    assert cluster.gateway_requests(method="GET", path=r"/pods/[^/]+$") == []


def test_kernelspec_with_eg_process_proxy_class_is_a_pod_kernelspec(cluster, specs_dir, gateways):
    podkit.write_pod_kernelspec(specs_dir, "eg_style", process_proxy=True, argv=podkit.ECHO_ARGV, interrupt_mode=None)
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-eg")
    kid = gw.start_kernel("eg_style")
    pod = cluster.kernel_pod(kid)
    assert pod is not None and pod["spec"]["containers"][0]["image"] == "python:3.12"
    with gw.ws(kid) as ws:
        assert ws.kernel_info()["content"]["status"] == "ok"
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def test_pod_kernelspecs_listed_only_with_a_cluster_configuration(cluster, specs_dir, gateways, tmp_path):
    shipped = podkit.REPO / "kernelspecs"
    local = tmp_path / "local" / "kernels"
    (local / "plain").mkdir(parents=True)
    (local / "plain" / "kernel.json").write_text(json.dumps({"argv": podkit.IPYKERNEL_ARGV, "display_name": "plain",
                                                            "language": "python"}))

    def names(gw):
        r = gw.rest.get("api/kernelspecs", timeout=30)
        assert r.status_code == 200
        return set(r.json()["kernelspecs"])

    for with_cluster in (True, False):
        g = podkit.GatewayFactory(gateways.log_dir, tmp_path / ("with" if with_cluster else "without"))
        g.tmp_path.mkdir()
        try:
            args = ["--kernelspecs-dir", str(shipped), "--kernelspecs-dir", str(local)]
            gw = g(specs_dir, cluster.kubeconfig if with_cluster else None, name=f"gw-list-{with_cluster}".lower(),
                   namespace=None, extra_args=args)
            seen = names(gw)
            pod_specs = {"python_kubernetes", "python_kubernetes_gpu", "pod_python", "pod_echo"}
            assert "plain" in seen
            if with_cluster:
                assert pod_specs <= seen, seen
            else:
                assert not (pod_specs & seen), seen
                # and it cannot be started either
                r, _ = gw.post_kernel("python_kubernetes")
                assert r.status_code == 404, r.text
                assert gw.rest.get("api/kernelspecs/python_kubernetes").status_code == 404
        finally:
            g.stop_all()


def _image_python_is_the_venv(argv, pod, container):
    # The image's `python` (an argument of the supervisor loop) is the test venv's interpreter here.
    return [str(podkit.VENV_PY) if a == "python" else a for a in argv]


def test_shipped_python_kubernetes_kernelspec_runs(fake_kube, kubelet_for, gateways, tmp_path,
                                                   collect_rendered):
    """kernelspecs/python_kubernetes as shipped: its pod template, resources and image."""
    collect_rendered(fake_kube)
    kubelet = kubelet_for(fake_kube, command_rewrite=_image_python_is_the_venv)
    cluster = podkit.make_cluster(fake_kube, kubelet, tmp_path)
    gw = gateways(podkit.REPO / "kernelspecs", cluster.kubeconfig, name="gw-shipped")
    kid = gw.start_kernel("python_kubernetes", {"KERNEL_USERNAME": "bob"})
    pod = cluster.kernel_pod(kid)
    c = pod["spec"]["containers"][0]
    assert c["image"] == "ghcr.io/elastic-jupyter/python-kernel:0.1.0"
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert pod["metadata"]["annotations"]["elastic-jupyter.io/description"] == f"Python kernel {kid} of bob"
    with gw.ws(kid) as ws:
        assert ws.execute_ok("import os; print(os.environ['IPYTHONDIR'])").strip() == "/tmp/ipython"
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    cluster.wait_clean()


def test_over_tls_with_a_client_certificate(fake_kube_tls, kubelet_for, specs_dir, gateways, tmp_path,
                                            collect_rendered):
    kube = fake_kube_tls
    collect_rendered(kube)
    kubelet = kubelet_for(kube)
    c = podkit.make_cluster(kube, kubelet, tmp_path, embed=True)
    kc = c.kubeconfig.read_text()
    assert "client-certificate-data" in kc and "certificate-authority-data" in kc and "https://" in kc
    gw = gateways(specs_dir, c.kubeconfig, name="gw-tls")
    kid = gw.start_kernel("pod_python")
    with gw.ws(kid) as ws:
        assert ws.execute_ok("print(6 * 7)").strip() == "42"
    assert gw.rest.delete(f"api/kernels/{kid}").status_code == 204
    c.wait_clean()
    reqs = c.gateway_requests()
    assert reqs, "the gateway made no API request"
    # every request of the gateway was authenticated by the kubeconfig's client certificate
    assert {r["user"] for r in reqs} == {"fakekube-admin"}, {r["user"] for r in reqs}
    assert any(r["method"] == "POST" and r["path"].endswith("/pods") and r["status"] == 201 for r in reqs)


def test_output_of_the_first_execute_after_a_restart_is_not_lost(cluster, specs_dir, gateways):
    """After POST /restart answers, the client's next execute gets all of its iopub output (busy, stream, idle).

    Gateway bug (KernelManager.restart, in-place path): `connection.resetIopubSeen()` is called *before* the
    shutdown_request, so the old ipykernel's own iopub traffic for that request (status busy/idle, shutdown_reply)
    marks iopub as live; waitUntilReady then only needs the new process's kernel_info_reply on shell, and the
    restart is answered while the SUB socket has not re-subscribed to the new process: the next cell's output is
    lost (ZeroMQ slow joiner), so a notebook shows the cell as never finishing.
    """
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-restarts")
    kid = gw.start_kernel("pod_python")
    lost = []
    with gw.ws(kid) as ws:
        for i in range(5):
            r = gw.rest.post(f"api/kernels/{kid}/restart", timeout=60)
            assert r.status_code == 200, r.text
            try:
                res = ws.execute(f"print({i} * 11)", timeout=8)
                if res.stdout.strip() != str(i * 11):
                    lost.append((i, "stdout", res.stdout))
            except AssertionError as e:
                lost.append((i, str(e)[:160]))
                ws.drain(1)
    assert not lost, f"{len(lost)} of 5 first executes after a restart lost their iopub output: {lost}"


def test_delete_is_prompt(cluster, specs_dir, gateways):
    """DELETE of a pod kernel takes about as long as the kernel needs to stop, not a fixed grace period.

    Gateway issue (KernelManager.stopProcess with PodKernel): after shutdown_request the kernel exits 0, the pod's
    supervisor loop starts a new kernel process, so waitForExitOrCancellation (pod gone) can never succeed and every
    DELETE, cull and gateway shutdown waits the full shutdownGracePeriod (3 s) before the pod is deleted, meanwhile
    running a fresh kernel process for nothing.
    """
    gw = gateways(specs_dir, cluster.kubeconfig, name="gw-delete")
    kid = gw.start_kernel("pod_echo")
    t0 = time.monotonic()
    assert gw.rest.delete(f"api/kernels/{kid}", timeout=30).status_code == 204
    took = time.monotonic() - t0
    cluster.wait_clean()
    assert took < 2, f"DELETE took {took:.1f}s"
