"""Forms that parse the dashboard's input before a view calls a service.

They check shape (whole numbers, DNS-1123 names, quantities) with the same pure helpers the
services use, so a user sees the API server's wording next to the field; the services stay the
authority on everything that needs the database (limits, existence, conflicts).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms

from cluster import containers, k8s, timings
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory

MAX_REPLICAS = 500
SPEED_CHOICES = [(f"{speed:g}", f"{speed:g}x") for speed in timings.SPEEDS]


def speed_choices(current: str) -> list[tuple[str, str]]:
    """The speed menu, showing the cluster's speed even when it was set (through the API or
    a lesson) to a value the menu does not offer, instead of a blank select."""
    if any(value == current for value, _ in SPEED_CHOICES):
        return SPEED_CHOICES
    return sorted([*SPEED_CHOICES, (current, f"{current}x")], key=lambda c: float(c[0]))


PROFILE_CHOICES = [
    ("classroom", "Classroom"),
    ("kubernetes", "Kubernetes"),
]
STEP_CHOICES = [("1", "+1 s"), ("10", "+10 s"), ("60", "+60 s")]
NODE_CPU_CHOICES = [("1", "1 CPU"), ("2", "2 CPUs"), ("4", "4 CPUs"), ("8", "8 CPUs")]
NODE_MEMORY_CHOICES = [("2Gi", "2 GiB"), ("4Gi", "4 GiB"), ("8Gi", "8 GiB"), ("16Gi", "16 GiB")]

NOTHING_TO_CHANGE = "choose Pause, Resume, Step, a speed or a timing profile"


def _name_errors(value: str) -> str:
    errors = k8s.name_errors(value, label=True)
    if errors:
        raise forms.ValidationError(errors[0])
    return value


def _quantity(value: str, parse: Callable[[str], int]) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        if parse(value) < 0:
            raise forms.ValidationError("must be greater than or equal to 0")
    except QuantityError as exc:
        raise forms.ValidationError(str(exc)) from None
    return value


class DeploymentCreateForm(forms.Form):
    name = forms.CharField(max_length=63, initial="web", help_text="lowercase, e.g. web")
    image = forms.CharField(max_length=255, initial="nginx:1.27")
    replicas = forms.IntegerField(min_value=0, max_value=MAX_REPLICAS, initial=3)
    cpu_request = forms.CharField(
        label="CPU request", required=False, max_length=20, initial="100m", help_text="e.g. 100m"
    )
    memory_request = forms.CharField(
        label="Memory request",
        required=False,
        max_length=20,
        initial="128Mi",
        help_text="e.g. 128Mi",
    )

    #: Service error fields (``causes``) mapped to the form's fields.
    CAUSE_FIELDS = {
        "metadata.name": "name",
        "spec.template.spec.containers[0].image": "image",
        "spec.replicas": "replicas",
        "resources.requests.cpu": "cpu_request",
        "resources.requests.memory": "memory_request",
    }

    def clean_name(self) -> str:
        return _name_errors(self.cleaned_data["name"].strip())

    def clean_image(self) -> str:
        image = self.cleaned_data["image"].strip()
        if any(ch.isspace() for ch in image):
            raise forms.ValidationError("an image reference cannot contain spaces")
        return image

    def clean_cpu_request(self) -> str:
        return _quantity(self.cleaned_data["cpu_request"], parse_cpu)

    def clean_memory_request(self) -> str:
        return _quantity(self.cleaned_data["memory_request"], parse_memory)

    def add_service_causes(self, causes: list[dict]) -> bool:
        """Attach a service error's causes to their fields; False if none matched a field."""
        matched = False
        for cause in causes:
            field = self.CAUSE_FIELDS.get(cause.get("field", ""))
            if field:
                self.add_error(field, cause.get("message", ""))
                matched = True
        return matched


class ScaleForm(forms.Form):
    replicas = forms.IntegerField(min_value=0, max_value=MAX_REPLICAS)


class NodeAddForm(forms.Form):
    name = forms.CharField(required=False, max_length=63, help_text="empty: next free node-N")
    cpu = forms.ChoiceField(choices=NODE_CPU_CHOICES, required=False)
    memory = forms.ChoiceField(choices=NODE_MEMORY_CHOICES, required=False)

    def clean_name(self) -> str | None:
        name = self.cleaned_data["name"].strip()
        return _name_errors(name) if name else None

    def clean_cpu(self) -> str:
        return self.cleaned_data["cpu"] or "2"

    def clean_memory(self) -> str:
        return self.cleaned_data["memory"] or "4Gi"


def _to_bool(value: str) -> bool:
    return value == "true"


class ClusterCreateForm(forms.Form):
    """The dashboard's "New cluster": a demo cluster under a new name, optionally dual-stack."""

    name = forms.CharField(max_length=63, label="Name")
    dual_stack = forms.BooleanField(required=False, label="Dual-stack (IPv4 + IPv6)")
    lesson = forms.ChoiceField(required=False, label="Start from")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        from cluster.lesson_catalog import lesson_choices  # noqa: PLC0415 - reads files, DB

        self.fields["lesson"].choices = [("", "the demo (nginx x6)"), *lesson_choices()]

    def clean_name(self) -> str:
        return _name_errors(self.cleaned_data["name"].strip())


class LessonUploadForm(forms.Form):
    """ "+ New cluster" → upload a lesson: the new cluster's name and the lesson's YAML file."""

    name = forms.CharField(max_length=63, label="Name")
    file = forms.FileField(label="Lesson file")

    def clean_name(self) -> str:
        return _name_errors(self.cleaned_data["name"].strip())


class ClockForm(forms.Form):
    """One endpoint for the time controls: a step, or any of pause/speed/profile."""

    paused = forms.TypedChoiceField(
        choices=[("true", "Pause"), ("false", "Resume")],
        coerce=_to_bool,
        required=False,
        empty_value=None,
    )
    speed = forms.TypedChoiceField(
        choices=SPEED_CHOICES, coerce=float, required=False, empty_value=None
    )
    profile = forms.ChoiceField(choices=PROFILE_CHOICES, required=False)
    step = forms.TypedChoiceField(
        label="Step", choices=STEP_CHOICES, coerce=float, required=False, empty_value=None
    )

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and all(
            data.get(field) in (None, "") for field in ("paused", "speed", "profile", "step")
        ):
            raise forms.ValidationError(NOTHING_TO_CHANGE)
        return data


class TimingsForm(forms.Form):
    """Per-cluster timing overrides: one number of seconds per timing (empty = the profile's).

    Shape only (a number, 0 to one day); the service checks the combination (renew interval
    inside the lease duration, back-off below its cap) and names the field that is wrong.
    """

    reset = forms.BooleanField(required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for key, (label, _models) in timings.DESCRIPTIONS.items():
            self.fields[key] = forms.FloatField(
                label=label, required=False, min_value=0, max_value=timings.MAX_SECONDS
            )

    def overrides(self, profile: str) -> dict[str, float]:
        """The values that differ from ``profile``'s (what the cluster stores)."""
        if self.cleaned_data.get("reset"):
            return {}
        base = timings.TIMING_PROFILES.get(profile, timings.CLASSROOM)
        return {
            key: value
            for key in timings.DESCRIPTIONS
            if (value := self.cleaned_data.get(key)) is not None and value != base[key]
        }


class YamlApplyForm(forms.Form):
    """The YAML panel's editor: a manifest and kubectl apply's switches. The size and document
    limits are checked where the manifest is read (:mod:`cluster.api.manifests`), so a refusal
    reads like the other result lines."""

    manifest = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    dry_run = forms.BooleanField(required=False)
    server_side = forms.BooleanField(required=False)
    force = forms.BooleanField(required=False)
    #: The object the panel was opened on ("Deployment/default/nginx"), to reload after applying.
    source = forms.CharField(required=False, max_length=400)


class BehaviorForm(forms.Form):
    """The dashboard's behaviour control: a mode, its parameters, and where it goes (this pod,
    or its Deployment's pod template, which rolls out)."""

    mode = forms.ChoiceField(label="Behaviour", choices=[(m, m) for m in containers.MODES])
    params = forms.CharField(label="Parameters", required=False, max_length=200)
    target = forms.ChoiceField(
        label="Apply to",
        choices=[("pod", "this pod"), ("deployment", "its Deployment")],
        required=False,
    )

    def clean(self) -> dict:
        data = super().clean()
        mode = data.get("mode")
        if mode:
            text = "" if mode == "healthy" else f"{mode} {data.get('params', '')}".strip()
            error = containers.behavior_error(text)
            if error:
                self.add_error("params", error)
            data["behavior"] = text
        return data


def _int_or_percent(value: str) -> str:
    value = value.strip()
    if value and not (value.isdigit() or (value.endswith("%") and value[:-1].isdigit())):
        raise forms.ValidationError("a whole number or a percentage, e.g. 1 or 25%")
    return value


class DeploymentEditForm(forms.Form):
    """The rollout panel's "edit deployment": what ``kubectl set image/resources``,
    ``kubectl scale`` and a strategy patch change. Empty resource fields remove the value."""

    container = forms.CharField(required=False, max_length=63, widget=forms.HiddenInput)
    image = forms.CharField(max_length=255)
    cpu_request = forms.CharField(label="CPU request", required=False, max_length=20)
    cpu_limit = forms.CharField(label="CPU limit", required=False, max_length=20)
    memory_request = forms.CharField(label="Memory request", required=False, max_length=20)
    memory_limit = forms.CharField(label="Memory limit", required=False, max_length=20)
    replicas = forms.IntegerField(min_value=0, max_value=MAX_REPLICAS)
    strategy = forms.ChoiceField(
        choices=[("RollingUpdate", "RollingUpdate"), ("Recreate", "Recreate")]
    )
    max_surge = forms.CharField(label="maxSurge", required=False, max_length=10)
    max_unavailable = forms.CharField(label="maxUnavailable", required=False, max_length=10)
    change_cause = forms.CharField(label="Change cause", required=False, max_length=200)

    def clean_cpu_request(self) -> str:
        return _quantity(self.cleaned_data["cpu_request"], parse_cpu)

    def clean_cpu_limit(self) -> str:
        return _quantity(self.cleaned_data["cpu_limit"], parse_cpu)

    def clean_memory_request(self) -> str:
        return _quantity(self.cleaned_data["memory_request"], parse_memory)

    def clean_memory_limit(self) -> str:
        return _quantity(self.cleaned_data["memory_limit"], parse_memory)

    def clean_max_surge(self) -> str:
        return _int_or_percent(self.cleaned_data["max_surge"])

    def clean_max_unavailable(self) -> str:
        return _int_or_percent(self.cleaned_data["max_unavailable"])


class RollbackForm(forms.Form):
    to_revision = forms.IntegerField(min_value=0, required=False)


class RequestPathForm(forms.Form):
    """The "send a request" tool: from a pod (``namespace/name``) or from outside the cluster
    (``external``), to a name, ``name:port``, an IP or a URL; ``seed`` repeats kube-proxy's
    draw (another seed, another endpoint)."""

    from_pod = forms.CharField(label="From", max_length=320)
    target = forms.CharField(label="To", max_length=300)
    seed = forms.IntegerField(label="Try", min_value=0, max_value=1_000_000, required=False)


class HpaForm(forms.Form):
    """The autoscaling panel's create/edit form: ``kubectl autoscale --min --max --cpu-percent``."""

    min_replicas = forms.IntegerField(label="Min pods", min_value=1, max_value=100)
    max_replicas = forms.IntegerField(label="Max pods", min_value=1, max_value=100)
    cpu_percent = forms.IntegerField(label="CPU target %", min_value=1, max_value=1000)

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_replicas"), data.get("max_replicas")
        if low is not None and high is not None and high < low:
            self.add_error("max_replicas", "must be greater than or equal to Min pods")
        return data


class CpuBurnForm(forms.Form):
    """The panel's CPU burn: a CPU quantity each pod burns (empty or 0: none)."""

    cpu = forms.CharField(label="CPU burn per pod", required=False, max_length=20)

    def clean_cpu(self) -> str:
        value = self.cleaned_data["cpu"].strip()
        if value in ("", "0", "0m"):
            return ""
        error = containers.behavior_error(f"cpu {value}")
        if error:
            raise forms.ValidationError(error)
        return value
