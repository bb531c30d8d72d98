"""Stop and start the control-plane components of a cluster.

What each outage does is modelled where the component acts, not here (k8s-reference §1, the
components' roles):

- ``kube-scheduler`` stopped: its controller gets no pass (``reconcile.run_controller``), so new
  pods stay Pending. On start it behaves like a freshly started scheduler: its informers relist
  (every pending pod enters the active queue) and the back-off a pod collected before the
  restart is forgotten (the queue lived in the old process's memory).
- ``kube-controller-manager`` stopped: the deployment, replicaset, node-lifecycle,
  taint-eviction and garbage-collector controllers get no pass; their cursors stay where they
  were, so on start they catch up on every change they missed. The node-lifecycle controller,
  like the real one whose node health map starts empty, counts a node's grace period from its
  own start at the earliest: it never marks a node NotReady just because it was asleep.
- ``cloud-controller-manager`` stopped: its service controller gets no pass, so new
  LoadBalancer Services stay ``<pending>`` and deleted ones keep their address until it starts
  again and catches up.
- ``etcd`` stopped: every write of an API object is refused by the store
  (:func:`cluster.services.store.next_resource_version`), so controllers and kubelets pause their
  API work and the objects freeze; running pods keep running.
- ``kube-apiserver`` stopped: the same for writes, and the API answers every request with a 503.

Stopping or starting is recorded as an Event about the component (kind ``ComponentStatus``, as
``kubectl get componentstatuses`` names them) when the API can store it: written before a stop
takes the API down, after a start brings it back.
"""

from __future__ import annotations

from django.db import transaction

from cluster import broadcast, selectors
from cluster.models import Cluster, ControllerState
from cluster.services import store
from cluster.services.errors import Invalid
from cluster.services.k8s_events import NORMAL, WARNING, event_record

COMPONENTS = (
    "kube-apiserver",
    "etcd",
    "kube-scheduler",
    "kube-controller-manager",
    "cloud-controller-manager",
)
UNKNOWN_COMPONENT = 'unknown control-plane component "{name}"; choose one of: {choices}'
ALREADY_STOPPED = "{name} is already stopped"
ALREADY_RUNNING = "{name} is already running"
#: ControllerState.data keys a (re)started component's controllers find: when their process
#: started (simulated time) and that their informers must relist.
STARTED_AT = "started_at"
RELIST = "relist"
EVENT_COMPONENT = "k8sviz"


def _check(name: str) -> None:
    if name not in COMPONENTS:
        raise Invalid(UNKNOWN_COMPONENT.format(name=name, choices=", ".join(COMPONENTS)))


def component_running(*, cluster: Cluster, name: str) -> bool:
    return bool(cluster.components.get(name, True))


def _involved(name: str) -> dict:
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name, "uid": ""}}


def _record(cluster: Cluster, *, name: str, running: bool, actor: str) -> None:
    """The Event of a stop or start, if the API can store one now (else the diagram says it)."""
    if store.api_unavailable(cluster.components) is not None:
        return
    who = "you" if actor == "user" else actor
    event_record(
        cluster=cluster,
        involved=_involved(name),
        reason="Started" if running else "Stopped",
        message=f"{name} {'started' if running else 'stopped'} by {who}",
        component=EVENT_COMPONENT,
        type_=NORMAL if running else WARNING,
    )


def _set_running(*, cluster: Cluster, name: str, running: bool, actor: str) -> Cluster:
    _check(name)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if component_running(cluster=cluster, name=name) == running:
            raise Invalid((ALREADY_RUNNING if running else ALREADY_STOPPED).format(name=name))
        if not running:
            _record(cluster, name=name, running=False, actor=actor)
        cluster.components = {**cluster.components, name: running}
        cluster.save(update_fields=["components"])
        if running:
            _record(cluster, name=name, running=True, actor=actor)
            _restart_controllers(cluster, name)
        broadcast.send_clock(cluster, backlog=selectors.component_backlog(cluster=cluster))
        transaction.on_commit(lambda: _wake(cluster.pk))
    return cluster


def _restart_controllers(cluster: Cluster, name: str) -> None:
    """A started process has an empty memory: its controllers relist and know when they began."""
    from cluster.controllers import CONTROLLERS  # noqa: PLC0415 - controllers use the services

    names = [c.name for c in CONTROLLERS if c.component == name]
    for state in ControllerState.objects.select_for_update().filter(
        cluster=cluster, controller__in=names
    ):
        state.data = {**state.data, STARTED_AT: cluster.sim_now, RELIST: True}
        state.save(update_fields=["data"])


def component_stop(*, cluster: Cluster, name: str, actor: str = "user") -> Cluster:
    """Stop a control-plane component (``kube-scheduler``, ``kube-controller-manager``,
    ``cloud-controller-manager``, ``etcd`` or ``kube-apiserver``); refuses an unknown or
    already stopped one."""
    return _set_running(cluster=cluster, name=name, running=False, actor=actor)


def component_start(*, cluster: Cluster, name: str, actor: str = "user") -> Cluster:
    """Start a stopped control-plane component; it catches up on what it missed."""
    return _set_running(cluster=cluster, name=name, running=True, actor=actor)


def _wake(cluster_id: int) -> None:
    from cluster import tasks  # noqa: PLC0415 - tasks import the services

    tasks.reconcile_cluster.delay(cluster_id)
