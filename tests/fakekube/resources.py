"""The resource types the fake API server serves: built-in ones and those registered from CRDs."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Callable

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

COMMON_FIELDS = {"metadata.name", "metadata.namespace"}


@dataclass
class ResourceType:
    group: str  # "" for the core group
    versions: list[str]  # served versions, the first one is the preferred/storage version
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    subresources: set[str] = field(default_factory=set)  # e.g. {"status", "binding", "log"}
    has_generation: bool = False
    # generation counts changes outside these top-level keys (besides metadata)
    generation_ignores: tuple[str, ...] = ("status",)
    field_selectors: set[str] = field(default_factory=set)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    crd_name: str | None = None  # set for custom resources
    schemas: dict[str, Any] = field(default_factory=dict)  # version -> openAPIV3Schema (custom resources)
    printer_columns: dict[str, list] = field(default_factory=dict)  # version -> additionalPrinterColumns
    name_check: str = "subdomain"  # "subdomain", "label" (DNS-1123 label), "label1035", "path" (anything)
    allow_unconditional_update: bool = True
    virtual: bool = False  # create-only review APIs: answered, never stored

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def storage_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        v = version or self.storage_version
        return f"{self.group}/{v}" if self.group else v

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def allowed_field_selectors(self) -> set[str]:
        return COMMON_FIELDS | self.field_selectors


def _rt(group, version, plural, singular, kind, namespaced, **kw) -> ResourceType:
    return ResourceType(group, [version], plural, singular, kind, namespaced, **kw)


POD_FIELDS = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}
EVENT_FIELDS = {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                "reason", "reportingComponent", "source", "type"}


def builtin_resources() -> list[ResourceType]:
    return [
        _rt("", "v1", "pods", "pod", "Pod", True, short_names=["po"], categories=["all"],
            subresources={"status", "binding", "log", "eviction"}, has_generation=True, field_selectors=POD_FIELDS),
        _rt("", "v1", "secrets", "secret", "Secret", True, field_selectors={"type"}),
        _rt("", "v1", "configmaps", "configmap", "ConfigMap", True, short_names=["cm"]),
        _rt("", "v1", "services", "service", "Service", True, short_names=["svc"], categories=["all"],
            subresources={"status"}, name_check="label1035"),
        _rt("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, short_names=["sa"]),
        _rt("", "v1", "events", "event", "Event", True, short_names=["ev"], field_selectors=EVENT_FIELDS,
            name_check="path"),
        _rt("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", True,
            short_names=["pvc"], subresources={"status"}),
        _rt("", "v1", "endpoints", "endpoints", "Endpoints", True, short_names=["ep"]),
        _rt("", "v1", "namespaces", "namespace", "Namespace", False, short_names=["ns"],
            subresources={"status", "finalize"}, field_selectors={"status.phase"}, name_check="label"),
        _rt("", "v1", "nodes", "node", "Node", False, short_names=["no"], subresources={"status"},
            field_selectors={"spec.unschedulable"}),
        _rt("apps", "v1", "deployments", "deployment", "Deployment", True, short_names=["deploy"],
            categories=["all"], subresources={"status"}, has_generation=True),
        _rt("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, short_names=["rs"], categories=["all"],
            subresources={"status"}, has_generation=True),
        _rt("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, short_names=["sts"],
            categories=["all"], subresources={"status"}, has_generation=True),
        _rt("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, short_names=["ds"], categories=["all"],
            subresources={"status"}, has_generation=True),
        _rt("batch", "v1", "jobs", "job", "Job", True, categories=["all"], subresources={"status"},
            has_generation=True),
        _rt("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", False, short_names=["sc"]),
        _rt("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, name_check="path"),
        _rt("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True,
            name_check="path"),
        _rt("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False,
            name_check="path"),
        _rt("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
            False, name_check="path"),
        _rt("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True,
            short_names=["netpol"], has_generation=True),
        _rt("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, short_names=["ing"],
            subresources={"status"}, has_generation=True),
        _rt("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
        _rt("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", True,
            short_names=["pdb"], subresources={"status"}, has_generation=True),
        _rt("authentication.k8s.io", "v1", "selfsubjectreviews", "", "SelfSubjectReview", False, verbs=["create"],
            virtual=True),
        _rt("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", False,
            verbs=["create"], virtual=True),
        _rt("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
            "CustomResourceDefinition", False, short_names=["crd", "crds"], categories=["api-extensions"],
            subresources={"status"}, has_generation=True),
    ]


def resource_from_crd(crd: dict) -> ResourceType:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    storage = [v["name"] for v in versions if v.get("storage")]
    order = storage + [v["name"] for v in versions if v["name"] not in storage]
    subresources: set[str] = set()
    schemas, columns = {}, {}
    for v in versions:
        if "status" in ((v.get("subresources") or {})):
            subresources.add("status")
        if "scale" in ((v.get("subresources") or {})):
            subresources.add("scale")
        schema = ((v.get("schema") or {}).get("openAPIV3Schema"))
        if schema is not None:
            schemas[v["name"]] = schema
        columns[v["name"]] = v.get("additionalPrinterColumns") or []
    return ResourceType(
        group=spec.get("group", ""), versions=order, plural=names.get("plural", ""),
        singular=names.get("singular") or names.get("kind", "").lower(), kind=names.get("kind", ""),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced", short_names=list(names.get("shortNames") or []),
        categories=list(names.get("categories") or []), subresources=subresources, has_generation=True,
        generation_ignores=("status",) if "status" in subresources else (), crd_name=crd["metadata"]["name"],
        schemas=schemas, printer_columns=columns, name_check="subdomain", allow_unconditional_update=False)


# ----------------------------------------------------------------------------------------------------------
# name validation (k8s.io/apimachinery/pkg/util/validation)
# ----------------------------------------------------------------------------------------------------------

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def name_problem(name: str, check: str) -> str | None:
    if check == "path":
        if name in (".", "..") or "/" in name or "%" in name:
            return f'may not contain \'/\' or \'%\' and may not be "." or ".."'
        return None
    if check == "label":
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        return None
    if check == "label1035":
        if len(name) > 63 or not _DNS1035_LABEL.match(name):
            return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
        return None
    if len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


# ----------------------------------------------------------------------------------------------------------
# defaulting (the visible part of what SetDefaults_* and admission do on a real server)
# ----------------------------------------------------------------------------------------------------------

def _default_container(c: dict) -> None:
    image = c.get("image") or ""
    if "imagePullPolicy" not in c:
        last = image.rsplit("/", 1)[-1]
        tagged = ":" in last or "@" in image
        c["imagePullPolicy"] = "Always" if (not tagged or last.endswith(":latest")) else "IfNotPresent"
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for e in c.get("env") or []:
        fr = (e.get("valueFrom") or {}).get("fieldRef")
        if fr is not None:
            fr.setdefault("apiVersion", "v1")


def default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if isinstance(c, dict):
            _default_container(c)
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for kind in ("secret", "configMap", "downwardAPI", "projected"):
            if isinstance(v.get(kind), dict):
                v[kind].setdefault("defaultMode", 420)


def _default_pod(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    # ServiceAccount and DefaultTolerationSeconds admission
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations if isinstance(t, dict)):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})


def _default_template_owner(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    tmpl = spec.get("template")
    if isinstance(tmpl, dict):
        default_pod_spec(tmpl.setdefault("spec", {}))


def _default_daemonset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    _default_template_owner(obj)


def _default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxSurge", "25%")
        ru.setdefault("maxUnavailable", "25%")
    _default_template_owner(obj)


def _default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        if "port" in p:
            p.setdefault("targetPort", p["port"])
    obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _default_namespace(obj: dict) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    labels = obj["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


def _default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")


def _default_rolelike(obj: dict) -> None:
    pass


DEFAULTERS: dict[tuple[str, str], Callable[[dict], None]] = {
    ("", "pods"): _default_pod,
    ("", "services"): _default_service,
    ("", "namespaces"): _default_namespace,
    ("", "secrets"): _default_secret,
    ("apps", "deployments"): _default_deployment,
    ("apps", "replicasets"): _default_template_owner,
    ("apps", "statefulsets"): _default_template_owner,
    ("apps", "daemonsets"): _default_daemonset,
    ("batch", "jobs"): _default_template_owner,
}


# What an empty status serialises to (Go structs: fields without omitempty are always present).
ZERO_STATUS: dict[tuple[str, str], dict] = {
    ("apps", "replicasets"): {"replicas": 0},
    ("apps", "statefulsets"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "daemonsets"): {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                             "numberReady": 0},
    ("policy", "poddisruptionbudgets"): {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                         "expectedPods": 0},
    ("", "persistentvolumeclaims"): {"phase": "Pending"},
    ("networking.k8s.io", "ingresses"): {"loadBalancer": {}},
    ("", "nodes"): {"daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
                    "nodeInfo": {k: "" for k in ("machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                                                 "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                                                 "operatingSystem", "architecture")}},
}


def zero_status(rt: ResourceType) -> dict:
    return copy.deepcopy(ZERO_STATUS.get(rt.key, {}))


def apply_defaults(rt: ResourceType, obj: dict) -> None:
    fn = DEFAULTERS.get(rt.key)
    if fn is not None:
        fn(obj)


def pod_qos_class(pod: dict) -> str:
    containers = ((pod.get("spec") or {}).get("containers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            limit = lim.get(r)
            request = req.get(r, limit)
            if limit is None or str(limit) != str(request):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def deep_copy(obj: Any) -> Any:
    return copy.deepcopy(obj)
