"""kube-apiserver's bootstrap controller, the part that keeps the ``default/kubernetes``
Service (``pkg/controlplane/controller/kubernetesservice``): it creates the Service when it is
missing, at the first address of the service CIDR, and re-creates it when someone deletes it.

It is also how clusters created before Services existed get theirs: the first run relists
(``all_keys``), with no data migration.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.services.networking import KUBERNETES_SERVICE, kubernetes_service_ensure

KEY = f"default/{KUBERNETES_SERVICE}"


class KubernetesServiceController(Controller):
    name = "kube-apiserver"
    component = "kube-apiserver"
    watches = ("Service",)

    def keys_for(self, change: Change) -> Iterable[str]:
        if (
            change.type == Change.Type.DELETED
            and change.namespace == "default"
            and change.name == KUBERNETES_SERVICE
        ):
            yield KEY

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (KEY,)

    def sync(self, ctx: SyncContext, key: str) -> None:
        if key == KEY:
            kubernetes_service_ensure(cluster=ctx.cluster, actor=self.name)
