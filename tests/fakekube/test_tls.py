"""HTTPS with client-certificate authentication, and bearer tokens, through kubeconfig files."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from .testing import control, find_kubectl, wait_until  # noqa: E402

KUBECTL = find_kubectl()


def whoami(api) -> dict:
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    return {"username": review.status.user_info.username, "groups": review.status.user_info.groups}


def test_client_certificate_kubeconfig(fake_kube_tls, tmp_path):
    kc = fake_kube_tls.write_kubeconfig(tmp_path / "admin.kubeconfig")
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    assert fake_kube_tls.url.startswith("https://127.0.0.1:")
    assert "default" in {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    assert whoami(api)["username"] == "fakekube-admin" and "system:masters" in whoami(api)["groups"]
    api.close()
    # another user, certificate embedded in the kubeconfig
    alice = fake_kube_tls.issue_client_cert("alice", ("kernel-users",))
    kc2 = fake_kube_tls.write_kubeconfig(tmp_path / "alice.kubeconfig", cert=alice, embed=True)
    assert "client-certificate-data" in kc2.read_text()
    api2 = kubernetes.config.new_client_from_config(config_file=str(kc2))
    assert whoami(api2) == {"username": "alice", "groups": ["kernel-users", "system:authenticated"]}
    api2.close()
    assert fake_kube_tls.requests()[-1]["user"] == "alice"
    # no client certificate: the TLS handshake fails; the server certificate verifies against the CA
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(fake_kube_tls.url + "/api", verify=str(fake_kube_tls.ca_file), timeout=5)
    ok = requests.get(fake_kube_tls.url + "/api", verify=str(fake_kube_tls.ca_file),
                      cert=(str(alice.cert), str(alice.key)), timeout=5)
    assert ok.status_code == 200 and ok.json()["kind"] == "APIVersions"
    state = control(fake_kube_tls.url, "GET", "state", ca_file=str(fake_kube_tls.ca_file),
                    cert_file=str(alice.cert), key_file=str(alice.key))
    assert state["url"] == fake_kube_tls.url
    with pytest.raises(requests.exceptions.SSLError):  # and does not verify without it
        requests.get(fake_kube_tls.url + "/api", cert=(str(alice.cert), str(alice.key)), timeout=5)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (or does not run) on this machine")
def test_kubectl_over_tls_with_client_certificate(fake_kube_tls, tmp_path):
    kc = fake_kube_tls.write_kubeconfig(tmp_path / "kubeconfig")
    base = [KUBECTL, "--kubeconfig", str(kc), "--cache-dir", str(tmp_path / "cache"), "--request-timeout", "20s"]
    out = subprocess.run(base + ["get", "namespaces", "-o", "name"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "namespace/default" in out.stdout.split()
    who = subprocess.run(base + ["auth", "whoami", "-o", "json"], capture_output=True, text=True, timeout=60)
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == "fakekube-admin"
    created = subprocess.run(base + ["create", "configmap", "via-tls", "--from-literal=k=v"], capture_output=True,
                             text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert fake_kube_tls.get_object("v1", "ConfigMap", "via-tls")["data"] == {"k": "v"}


def test_bearer_token(fake_kube_factory, tmp_path):
    # over TLS: kubectl (client-go) does not send bearer tokens over plain HTTP
    kube = fake_kube_factory(token="s3cret-token", tls=True)
    ca = str(kube.ca_file)
    r = requests.get(kube.url + "/api/v1/namespaces", verify=ca)
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    r = requests.get(kube.url + "/api/v1/namespaces", headers={"Authorization": "Bearer wrong"}, verify=ca)
    assert r.status_code == 401
    kc = kube.write_kubeconfig(tmp_path / "kc", client_cert=False)
    assert "token" in kc.read_text() and "client-certificate" not in kc.read_text()
    api = kubernetes.config.new_client_from_config(config_file=str(kc))
    assert client.CoreV1Api(api).list_namespace().items
    assert whoami(api)["username"] == "fakekube-admin"
    api.close()
    if KUBECTL:
        out = subprocess.run([KUBECTL, "--kubeconfig", str(tmp_path / "kc"), "--cache-dir", str(tmp_path / "c"),
                              "get", "ns", "default", "-o", "name"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "namespace/default", out.stderr


def test_kubelet_against_a_tls_server(fake_kube_tls, fake_kubelet_factory):
    fake_kubelet_factory(fake_kube_tls)
    fake_kube_tls.create_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "secure"},
                                 "spec": {"restartPolicy": "Never", "containers": [{
                                     "name": "c", "image": "python:3.11", "command": ["python", "-c", "pass"]}]}})
    wait_until(lambda: fake_kube_tls.get_object("v1", "Pod", "secure")["status"]["phase"] == "Succeeded", 15)
    users = {e["user"] for e in fake_kube_tls.requests(include_internal=True) if e["internal"]}
    assert users == {"fakekube-admin"}
