"""The simulated clusters' storage: our "etcd".

- :class:`Cluster` is one simulated cluster: its resourceVersion counter, its simulated clock and
  its timing profile.
- :class:`KubeObject` holds every Kubernetes object of every cluster, in Kubernetes' own JSON shape
  (``body``), so a manifest round-trips unchanged. Fields that controllers query (kind, namespace,
  name, node name, phase, controller owner) are copied into typed, indexed columns on each write.
  ``sim`` holds simulator-only state (a machine's power switch, a pod's scheduling attempts) that
  the Kubernetes API never serves.
- :class:`Change` is the cluster's change log: every write appends one entry. It drives the live
  diagram, the controllers' informers and, later, the watch API and replay.
- :class:`TrafficSample` is the latest windows of simulated client traffic (docs/traffic.md).
- :class:`ControllerState` and :class:`Wakeup` are the controllers' informer cursor and delaying
  work queue.
- :class:`ApiToken` is a bearer token of the Kubernetes-style API: one cluster, one user name.
- :class:`Classroom` is a teacher's class (its join code, the cluster it follows, its projector
  link) and :class:`Student` a display name that joined it (a session-bound identity, no
  account). Who may see and change which cluster is decided in :mod:`cluster.access`.

Rows are written only through :mod:`cluster.services`.
"""

from __future__ import annotations

import hashlib
import uuid

from django.db import models


class Cluster(models.Model):
    class Profile(models.TextChoices):
        KUBERNETES = "kubernetes", "Kubernetes defaults"
        CLASSROOM = "classroom", "Classroom (shortened periods)"

    name = models.SlugField(max_length=63, unique=True)
    resource_version = models.BigIntegerField(default=0)
    # Simulated clock: seconds since the Unix epoch, in simulated time.
    sim_now = models.FloatField()
    # Wall-clock time (Unix seconds) at which sim_now was last advanced.
    clock_wall = models.FloatField()
    speed = models.FloatField(default=1.0)
    paused = models.BooleanField(default=False)
    profile = models.CharField(max_length=20, choices=Profile.choices, default=Profile.CLASSROOM)
    timings = models.JSONField(default=dict)
    # Control-plane components that are running ("kube-scheduler": True, ...). Issue #4 stops them.
    components = models.JSONField(default=dict)
    # The oldest resourceVersion still in the change log (older entries are compacted).
    compacted_rv = models.BigIntegerField(default=0)
    # Simulated seconds to advance on the next tick while paused ("Step").
    step_pending = models.FloatField(default=0.0)
    # kube-proxy's --proxy-mode on every node of this cluster (docs/traffic.md).
    proxy_mode = models.CharField(max_length=10, default="iptables")
    # IPv4/IPv6 dual-stack (--cluster-cidr and --service-cluster-ip-range with both families),
    # chosen when the cluster is created (docs/addressing.md).
    dual_stack = models.BooleanField(default=False)
    # Who owns it (cluster.access): a teacher's (or admin's) cluster, a student's sandbox, or
    # neither: an open cluster (the local demo).
    owner = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, null=True, blank=True, related_name="clusters"
    )
    sandbox_of = models.ForeignKey(
        "Student", on_delete=models.CASCADE, null=True, blank=True, related_name="sandboxes"
    )
    # The lesson it was started from (cluster/lessons/<lesson>.yaml) and the next step to run;
    # a fork keeps both, so a sandbox is checked against the same goal.
    lesson = models.CharField(max_length=63, blank=True, default="")
    lesson_step = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KubeObject(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="kube_objects")
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    uid = models.UUIDField(default=uuid.uuid4, unique=True)
    resource_version = models.BigIntegerField()
    # Controller owner (the ownerReference with controller: true), for the GC and controllers.
    owner_uid = models.UUIDField(null=True, blank=True)
    node_name = models.CharField(max_length=253, blank=True, default="")
    phase = models.CharField(max_length=32, blank=True, default="")
    deleting = models.BooleanField(default=False)
    # Event de-duplication key (the event correlator's aggregation key), blank for other kinds.
    search_key = models.CharField(max_length=64, blank=True, default="")
    # A kind-specific time index in simulated seconds: Event lastTimestamp, Lease renewTime.
    stamp = models.FloatField(null=True, blank=True)
    # A pod's summed container requests (millicores, bytes), real and "non-zero" (the scheduler
    # scores request-less containers as 100m / 200Mi), so node usage is one SQL aggregate.
    req_cpu = models.BigIntegerField(default=0)
    req_memory = models.BigIntegerField(default=0)
    nz_cpu = models.BigIntegerField(default=0)
    nz_memory = models.BigIntegerField(default=0)
    body = models.JSONField()
    sim = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "kind", "namespace", "name"], name="uniq_object_name"
            )
        ]
        indexes = [
            models.Index(fields=["cluster", "kind", "node_name"], name="obj_kind_node"),
            models.Index(fields=["cluster", "owner_uid"], name="obj_owner"),
            models.Index(fields=["cluster", "kind", "phase"], name="obj_kind_phase"),
            models.Index(fields=["cluster", "kind", "search_key"], name="obj_search_key"),
            models.Index(fields=["cluster", "kind", "stamp"], name="obj_stamp"),
        ]

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def metadata(self) -> dict:
        return self.body.setdefault("metadata", {})

    @property
    def spec(self) -> dict:
        return self.body.setdefault("spec", {})

    @property
    def status(self) -> dict:
        return self.body.setdefault("status", {})


class Change(models.Model):
    class Type(models.TextChoices):
        ADDED = "ADDED"
        MODIFIED = "MODIFIED"
        DELETED = "DELETED"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="changes")
    rv = models.BigIntegerField()
    type = models.CharField(max_length=10, choices=Type.choices)
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63, blank=True, default="")
    name = models.CharField(max_length=253)
    uid = models.UUIDField()
    owner_uid = models.UUIDField(null=True, blank=True)
    node_name = models.CharField(max_length=253, blank=True, default="")
    # The component that made the change: "user", "kube-scheduler", "kubelet/node-2", ...
    actor = models.CharField(max_length=100)
    sim_time = models.FloatField()
    object = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "rv"], name="uniq_change_rv")]
        ordering = ["rv"]

    def __str__(self) -> str:
        return f"{self.rv} {self.type} {self.kind} {self.namespace}/{self.name} by {self.actor}"


class ControllerState(models.Model):
    """One controller's informer cursor in one cluster: the last change-log rv it has handled."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="controller_states")
    controller = models.CharField(max_length=63)
    cursor_rv = models.BigIntegerField(default=0)
    last_resync = models.FloatField(default=0.0)
    # Controller-private memory that must survive restarts (e.g. the node-lifecycle zone state).
    data = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "controller"], name="uniq_controller_state")
        ]


class Wakeup(models.Model):
    """A controller's delayed work item: reconcile ``key`` at simulated time ``due``."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="wakeups")
    controller = models.CharField(max_length=63)
    key = models.CharField(max_length=300)
    due = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "controller", "key"], name="uniq_wakeup")
        ]
        indexes = [models.Index(fields=["cluster", "due"], name="wakeup_due")]


class TrafficSample(models.Model):
    """One window of simulated client traffic in one cluster (cluster/traffic.py): per Service
    its requests, errors by reason, latency quantiles and the split per node and pod. Only the
    newest few per cluster are kept (``services.traffic.RETENTION``)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="traffic_samples")
    sim_time = models.FloatField()
    data = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["cluster", "sim_time"], name="traffic_time")]


class ApiToken(models.Model):
    """A bearer token for one cluster's API (kube-apiserver's static token file, per cluster).

    Only the token's SHA-256 is stored; the token itself is shown once, in the kubeconfig."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.CharField(max_length=253)
    token_sha256 = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user}@{self.cluster_id}"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class Classroom(models.Model):
    """A teacher's class: students join it with ``join_code`` and follow ``cluster``; the
    projector opens it read-only with ``viewer_token``."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="classrooms")
    join_code = models.CharField(max_length=16, unique=True)
    viewer_token = models.CharField(max_length=64, unique=True)
    cluster = models.ForeignKey(
        Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="classrooms"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.join_code})"


class Student(models.Model):
    """A display name in a class, bound to the browser session that joined (no account)."""

    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="students")
    display_name = models.CharField(max_length=40)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["classroom", "display_name"], name="uniq_student_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} in {self.classroom_id}"


class Answer(models.Model):
    """A student's answer to a lesson checkpoint on a cluster (one per student and step)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="answers")
    step = models.IntegerField()
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="answers")
    choice = models.IntegerField()
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "step", "student"], name="uniq_answer_per_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_id}: step {self.step} -> {self.choice}"


class HistoryBase(models.Model):
    """The state a cluster's change log starts from (cluster/history.py): every object as it
    was at ``rv``. Absent: the log starts from an empty cluster at rv 0. Written when a fork
    starts a history and when compaction drops the oldest changes, so any resourceVersion
    still in the log can be replayed."""

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="history_base")
    rv = models.BigIntegerField()
    sim_time = models.FloatField()
    bodies = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"history of {self.cluster_id} from rv {self.rv}"


class LessonFile(models.Model):
    """A lesson uploaded through the dashboard (docs/lessons.md): the YAML as written, valid
    when stored (``services.lessons.lesson_upload``), named by its ``metadata.name``, which no
    shipped lesson in cluster/lessons/ has."""

    name = models.SlugField(max_length=63, unique=True)
    text = models.TextField()
    owner = models.ForeignKey(
        "auth.User", on_delete=models.CASCADE, null=True, blank=True, related_name="lessons"
    )
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
