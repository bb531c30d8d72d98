"""What the API serves, as Kubernetes discovery describes it.

One :class:`Resource` per kind the simulator stores and serves; the discovery documents
(``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``) and the URL dispatch are built
from this table, so a kind added here is advertised and routed together. Shapes follow
apimachinery's ``APIVersions``, ``APIGroupList`` and ``APIResourceList`` (legacy discovery):
kubectl 1.32 asks for aggregated discovery first but falls back to these when the response's
Content-Type is plain ``application/json``.

Every kind is served with all eight verbs; subresources are listed as ``<plural>/<sub>``
entries as kube-apiserver lists them (``pods/eviction`` in group policy, ``deployments/scale``
as an ``autoscaling/v1`` Scale: kubectl drain and kubectl scale look for exactly these).

The same table yields aggregated discovery (``apidiscovery.k8s.io/v2``): ``/api`` and ``/apis``
each answer one ``APIGroupDiscoveryList`` when asked for it, and kubectl then makes those two
requests instead of one more per group-version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster.controllers.kubelet import KUBELET_VERSION

SERVED_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None  # set when the subresource's kind lives in another group
    version: str | None = None


STATUS = ("get", "patch", "update")
METRICS_VERBS = ("get", "list")
SCALE = Subresource("scale", "Scale", STATUS, "autoscaling", "v1")


@dataclass(frozen=True)
class Resource:
    name: str  # the plural, as in URLs: "pods"
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(default=SERVED_VERBS)
    subresources: tuple[Subresource, ...] = ()
    #: Served from the simulated metrics-server (read-only, computed, never stored).
    metrics: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def aggregated_discovery(self) -> dict:
        """This resource in an ``APIVersionDiscovery`` (client-go drops entries without
        ``responseKind``)."""
        entry: dict = {
            "resource": self.name,
            "responseKind": {"group": self.group, "version": self.version, "kind": self.kind},
            "scope": "Namespaced" if self.namespaced else "Cluster",
            "singularResource": self.singular,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        if self.subresources:
            entry["subresources"] = [
                {
                    "subresource": sub.name,
                    "responseKind": {
                        "group": self.group if sub.group is None else sub.group,
                        "version": self.version if sub.version is None else sub.version,
                        "kind": sub.kind,
                    },
                    "verbs": list(sub.verbs),
                }
                for sub in self.subresources
            ]
        return entry

    def discovery(self) -> dict:
        entry: dict = {
            "name": self.name,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry

    def subresource_discovery(self) -> list[dict]:
        entries = []
        for sub in self.subresources:
            entry: dict = {
                "name": f"{self.name}/{sub.name}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group is not None:
                entry["group"], entry["version"] = sub.group, sub.version
            entries.append(entry)
        return entries

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS)


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "namespaces",
        "Namespace",
        "",
        "v1",
        False,
        "namespace",
        ("ns",),
        subresources=(_status("Namespace"),),
    ),
    Resource("nodes", "Node", "", "v1", False, "node", ("no",), subresources=(_status("Node"),)),
    Resource(
        "pods",
        "Pod",
        "",
        "v1",
        True,
        "pod",
        ("po",),
        ("all",),
        subresources=(
            Subresource("binding", "Binding", ("create",)),
            Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
            Subresource("log", "Pod", ("get",)),
            _status("Pod"),
        ),
    ),
    Resource("events", "Event", "", "v1", True, "event", ("ev",)),
    Resource(
        "deployments",
        "Deployment",
        "apps",
        "v1",
        True,
        "deployment",
        ("deploy",),
        ("all",),
        subresources=(SCALE, _status("Deployment")),
    ),
    Resource(
        "replicasets",
        "ReplicaSet",
        "apps",
        "v1",
        True,
        "replicaset",
        ("rs",),
        ("all",),
        subresources=(SCALE, _status("ReplicaSet")),
    ),
    Resource("leases", "Lease", "coordination.k8s.io", "v1", True, "lease"),
    Resource(
        "services",
        "Service",
        "",
        "v1",
        True,
        "service",
        ("svc",),
        ("all",),
        subresources=(_status("Service"),),
    ),
    Resource("endpointslices", "EndpointSlice", "discovery.k8s.io", "v1", True, "endpointslice"),
    Resource(
        "ingresses",
        "Ingress",
        "networking.k8s.io",
        "v1",
        True,
        "ingress",
        ("ing",),
        subresources=(_status("Ingress"),),
    ),
    Resource("ingressclasses", "IngressClass", "networking.k8s.io", "v1", False, "ingressclass"),
    # autoscaling/v2 is the stored and preferred version; v1 (targetCPUUtilizationPercentage)
    # is converted at the edge (cluster/api/hpa_versions.py), as kubectl 1.32's autoscale sends it.
    Resource(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        True,
        "horizontalpodautoscaler",
        ("hpa",),
        ("all",),
        subresources=(_status("HorizontalPodAutoscaler"),),
    ),
    Resource(
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v1",
        True,
        "horizontalpodautoscaler",
        ("hpa",),
        ("all",),
        subresources=(_status("HorizontalPodAutoscaler"),),
    ),
    # metrics-server's aggregated API (metrics.k8s.io/v1beta1): get and list only.
    Resource(
        "pods",
        "PodMetrics",
        "metrics.k8s.io",
        "v1beta1",
        True,
        "",
        verbs=METRICS_VERBS,
        metrics=True,
    ),
    Resource(
        "nodes",
        "NodeMetrics",
        "metrics.k8s.io",
        "v1beta1",
        False,
        "",
        verbs=METRICS_VERBS,
        metrics=True,
    ),
)
# (group, version), a group's preferred (first listed) version first.
GROUPS: tuple[tuple[str, str], ...] = (
    ("apps", "v1"),
    ("autoscaling", "v2"),
    ("autoscaling", "v1"),
    ("coordination.k8s.io", "v1"),
    ("discovery.k8s.io", "v1"),
    ("networking.k8s.io", "v1"),
    ("metrics.k8s.io", "v1beta1"),
)


def resource_for(*, group: str, version: str, plural: str) -> Resource | None:
    for res in RESOURCES:
        if (res.group, res.version, res.name) == (group, version, plural):
            return res
    return None


def group_served(group: str, version: str) -> bool:
    return (group, version) in GROUPS or (group, version) == ("", "v1")


def version_info() -> dict:
    """``/version`` (``version.Info``): the Kubernetes release the simulator models, the one its
    kubelets report. The kubectl dispatcher on a machine picks its client minor from it."""
    git_version = KUBELET_VERSION
    major, minor = git_version.removeprefix("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> dict:
    """``/api``: the core group's versions (``APIVersions``)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list() -> dict:
    """``/apis``: the named groups (the core group is not listed), each with its preferred
    version."""
    groups: dict[str, list[dict]] = {}
    for group, version in GROUPS:
        groups.setdefault(group, []).append(
            {"groupVersion": f"{group}/{version}", "version": version}
        )
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {"name": name, "versions": versions, "preferredVersion": versions[0]}
            for name, versions in groups.items()
        ],
    }


def api_resource_list(group: str, version: str) -> dict:
    """``/api/v1`` or ``/apis/<group>/<version>``: an ``APIResourceList``."""
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            entry
            for r in RESOURCES
            if (r.group, r.version) == (group, version)
            for entry in (r.discovery(), *r.subresource_discovery())
        ],
    }


AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def aggregated_discovery(*, core: bool) -> dict:
    """``/api`` (``core``) or ``/apis`` as one ``APIGroupDiscoveryList``: each group with its
    versions and their resources. The core group is named ""."""
    pairs = [("", "v1")] if core else list(GROUPS)
    by_group: dict[str, list[dict]] = {}
    for group, version in pairs:
        served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
        by_group.setdefault(group, []).append(
            {
                "version": version,
                "resources": [r.aggregated_discovery() for r in served],
                "freshness": "Current",
            }
        )
    items = [
        {"metadata": {"name": group}, "versions": versions} for group, versions in by_group.items()
    ]
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
