"""Errors raised by services. Their text is what a user sees; the API maps them to Kubernetes
Status objects (404 NotFound, 409 AlreadyExists/Conflict, 422 Invalid)."""

from __future__ import annotations


class ServiceError(Exception):
    reason = "BadRequest"
    code = 400

    def __init__(
        self,
        message: str,
        *,
        causes: list[dict] | None = None,
        kind: str = "",
        name: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.causes = causes or []
        self.kind = kind  # the Status details, where Kubernetes gives them (Invalid)
        self.name = name


class BadRequest(ServiceError):
    reason = "BadRequest"
    code = 400


class Forbidden(ServiceError):
    reason = "Forbidden"
    code = 403


class NotFound(ServiceError):
    reason = "NotFound"
    code = 404


class AlreadyExists(ServiceError):
    reason = "AlreadyExists"
    code = 409


class Conflict(ServiceError):
    reason = "Conflict"
    code = 409


class Invalid(ServiceError):
    reason = "Invalid"
    code = 422


class LimitExceeded(ServiceError):
    reason = "Forbidden"
    code = 403


class Unavailable(ServiceError):
    """The control plane cannot take the write: a stopped kube-apiserver or etcd. Not the
    caller's fault and not permanent: the same write succeeds once the component is started."""

    reason = "ServiceUnavailable"
    code = 503


class ApiServerUnavailable(Unavailable):
    """kube-apiserver is stopped. A real client would get "connection refused" (nothing listens
    on the port); the simulator answers a 503 Status that says why."""

    reason = "ServiceUnavailable"
    code = 503


class EtcdUnavailable(Unavailable):
    """etcd is stopped: kube-apiserver is up but cannot store anything. A real apiserver answers
    such writes with a 500 InternalError wrapping etcd's client error once its request timeout
    passes ("etcdserver: request timed out")."""

    reason = "InternalError"
    code = 500


NOT_FOUND = '{resource} "{name}" not found'
ALREADY_EXISTS = '{resource} "{name}" already exists'
CONFLICT = (
    'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
    "please apply your changes to the latest version and try again"
)

APISERVER_STOPPED = (
    "the kube-apiserver of this cluster is stopped: nothing can read or change the cluster's "
    "objects until it is started again (a real client would get: connection refused)"
)
ETCD_STOPPED = (
    "Internal error occurred: etcdserver: request timed out (etcd of this cluster is stopped: "
    "kube-apiserver cannot store any write until etcd is started again)"
)

RESOURCE_NAMES = {
    "Namespace": "namespaces",
    "Node": "nodes",
    "Pod": "pods",
    "Event": "events",
    "Service": "services",
    "EndpointSlice": "endpointslices.discovery.k8s.io",
    "Ingress": "ingresses.networking.k8s.io",
    "IngressClass": "ingressclasses.networking.k8s.io",
    "Lease": "leases.coordination.k8s.io",
    "ReplicaSet": "replicasets.apps",
    "Deployment": "deployments.apps",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers.autoscaling",
    "Machine": "machines",
}


def not_found(kind: str, name: str) -> NotFound:
    return NotFound(NOT_FOUND.format(resource=RESOURCE_NAMES.get(kind, kind.lower()), name=name))
