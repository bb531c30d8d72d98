"""Errors as Kubernetes ``Status`` objects (apimachinery ``metav1.Status``).

Every failure of the API answers JSON with ``kind: Status``, ``status: Failure``, a ``reason``
and an HTTP code equal to ``code``: kubectl prints ``Error from server (<reason>): <message>``
from it, and the Python client raises ``ApiException`` with it as the body. Never an HTML page.
"""

from __future__ import annotations

from django.http import JsonResponse

# apiserver's wording (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters).
UNAUTHORIZED = "Unauthorized"
FORBIDDEN_CLUSTER = (
    'User "{user}" cannot access cluster "{cluster}": the token belongs to another cluster'
)
NOT_FOUND = '{resource} "{name}" not found'
NO_SUCH_PATH = "the server could not find the requested resource"
METHOD_NOT_ALLOWED = "the server does not allow this method on the requested resource"


def status_body(*, code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body: dict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def status_response(
    *, code: int, reason: str, message: str, details: dict | None = None
) -> JsonResponse:
    return JsonResponse(
        status_body(code=code, reason=reason, message=message, details=details), status=code
    )


def unauthorized() -> JsonResponse:
    """401: no token, or one no cluster knows (authentication failed)."""
    return status_response(code=401, reason="Unauthorized", message=UNAUTHORIZED)


def forbidden(*, user: str, cluster: str) -> JsonResponse:
    """403: an authenticated user without access to this cluster."""
    return status_response(
        code=403,
        reason="Forbidden",
        message=FORBIDDEN_CLUSTER.format(user=user, cluster=cluster),
    )


def not_found(*, resource: str, group: str, name: str) -> JsonResponse:
    """404 for a missing object: ``pods "x" not found``, ``deployments.apps "web" not found``;
    ``details.kind`` is the resource, as the API server sets it for NotFound."""
    qualified = f"{resource}.{group}" if group else resource
    return status_response(
        code=404,
        reason="NotFound",
        message=NOT_FOUND.format(resource=qualified, name=name),
        details={"name": name, "group": group, "kind": resource},
    )


def no_such_path() -> JsonResponse:
    """404 for a path the API does not serve (an unknown resource or group)."""
    return status_response(code=404, reason="NotFound", message=NO_SUCH_PATH)


def method_not_allowed() -> JsonResponse:
    return status_response(code=405, reason="MethodNotAllowed", message=METHOD_NOT_ALLOWED)


def apiserver_stopped() -> JsonResponse:
    """503 while the cluster's kube-apiserver is stopped (a real one would refuse the
    connection; the simulator can still say why)."""
    from cluster.services.errors import APISERVER_STOPPED  # noqa: PLC0415 - keep status pure

    return status_response(code=503, reason="ServiceUnavailable", message=APISERVER_STOPPED)


def bad_request(message: str) -> JsonResponse:
    return status_response(code=400, reason="BadRequest", message=message)


_CAUSE_REASONS = (
    ("Required value", "FieldValueRequired"),
    ("Forbidden", "FieldValueForbidden"),
    ("Unsupported value", "FieldValueNotSupported"),
    ("Duplicate value", "FieldValueDuplicate"),
)


def _cause(cause: dict) -> dict:
    message = cause.get("message", "")
    reason = cause.get("reason") or next(
        (r for prefix, r in _CAUSE_REASONS if message.startswith(prefix)), "FieldValueInvalid"
    )
    return {"reason": reason, "message": message, "field": cause.get("field", "")}


def from_error(error, *, resource: str, group: str, name: str = "") -> JsonResponse:
    """A service error as the API server reports it. ``details.kind`` is the resource for
    NotFound/AlreadyExists/Conflict and the Kind for Invalid (kubectl builds its
    ``The Deployment "x" is invalid: ...`` line from the latter and the causes)."""
    details: dict = {"name": error.name or name, "group": group}
    if error.reason == "Invalid":
        details["kind"] = error.kind or resource
        details["causes"] = [_cause(c) for c in error.causes]
    else:
        details["kind"] = resource
        if error.causes:
            details["causes"] = [_cause(c) for c in error.causes]
    return status_response(
        code=error.code, reason=error.reason, message=error.message, details=details
    )


def unsupported_media_type(content_type: str) -> JsonResponse:
    """415, with the way around it for kubectl's protobuf shortcuts."""
    message = f"the body of the request was in an unknown format - accepted media types include: {', '.join(ACCEPTED_BODIES)}"
    if "protobuf" in content_type:
        message = PROTOBUF_REFUSED
    return status_response(code=415, reason="UnsupportedMediaType", message=message)


ACCEPTED_BODIES = (
    "application/json",
    "application/yaml",
    "application/strategic-merge-patch+json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
)
PROTOBUF_REFUSED = (
    "this simulator decodes protobuf request bodies only for Namespace, Node, Pod, Deployment "
    "and ReplicaSet (kubectl 1.32+ sends protobuf for its typed shortcuts such as 'kubectl "
    "create configmap'); send the object as JSON instead: 'kubectl create ... "
    "--dry-run=client -o yaml | kubectl apply -f -'"
)
