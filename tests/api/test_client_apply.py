"""kubectl's client-side apply patch: what kubectl would send given the last-applied
configuration, the new one and the live object (pure; no database)."""

from __future__ import annotations

import json

import pytest

from cluster.api.client_apply import (
    LAST_APPLIED,
    last_applied,
    three_way_patch,
    with_last_applied,
)
from cluster.api.patch import strategic_merge_patch

DEPLOYMENT = ("apps", "v1", "Deployment")


def deployment(*, replicas: int = 2, containers: list | None = None, **meta: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", **meta},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": containers or [{"name": "web", "image": "a"}]}},
        },
    }


@pytest.mark.parametrize(
    ("original", "modified", "current", "patch"),
    [
        pytest.param(
            deployment(),
            deployment(),
            deployment(annotations={"deployment.kubernetes.io/revision": "1"}),
            {},
            id="nothing-new-is-unchanged",
        ),
        pytest.param(
            deployment(),
            deployment(replicas=3),
            deployment(),
            {"spec": {"replicas": 3}},
            id="a-changed-value",
        ),
        pytest.param(
            deployment(labels={"tier": "a", "app": "web"}),
            deployment(labels={"app": "web"}),
            deployment(labels={"tier": "a", "app": "web", "team": "b"}),
            {"metadata": {"labels": {"tier": None}}},
            id="a-dropped-key-only-what-was-applied",
        ),
        pytest.param(
            deployment(labels={"tier": "a"}),
            deployment(),
            deployment(labels={"tier": "a", "team": "b"}),
            {"metadata": {"labels": None}},
            id="a-dropped-map-goes-whole-as-in-kubectl",
        ),
        pytest.param(
            None,
            deployment(),
            deployment(labels={"team": "b"}),
            {},
            id="no-original-deletes-nothing",
        ),
        pytest.param(
            deployment(),
            deployment(containers=[{"name": "web", "image": "b"}]),
            deployment(containers=[{"name": "web", "image": "a", "imagePullPolicy": "Always"}]),
            {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "b"}]}}}},
            id="containers-diffed-by-name-defaults-kept",
        ),
        pytest.param(
            deployment(containers=[{"name": "web", "image": "a"}, {"name": "log", "image": "l"}]),
            deployment(containers=[{"name": "web", "image": "a"}]),
            deployment(containers=[{"name": "web", "image": "a"}, {"name": "log", "image": "l"}]),
            {"spec": {"template": {"spec": {"containers": [{"$patch": "delete", "name": "log"}]}}}},
            id="a-dropped-container-is-deleted",
        ),
    ],
)
def test_three_way_patch(original, modified, current, patch) -> None:
    assert three_way_patch(original, modified, current, gvk=DEPLOYMENT) == patch


def test_the_patch_turns_the_live_object_into_the_applied_one() -> None:
    original = deployment(containers=[{"name": "web", "image": "a"}, {"name": "log", "image": "l"}])
    current = deployment(
        containers=[
            {"name": "web", "image": "a", "imagePullPolicy": "Always"},
            {"name": "log", "image": "l"},
        ]
    )
    modified = deployment(replicas=5, containers=[{"name": "web", "image": "b"}])

    patched = strategic_merge_patch(
        current, three_way_patch(original, modified, current, gvk=DEPLOYMENT), gvk=DEPLOYMENT
    )

    assert patched["spec"]["replicas"] == 5
    assert patched["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "b", "imagePullPolicy": "Always"}
    ]


def test_the_annotation_holds_the_configuration_without_itself() -> None:
    config = deployment(annotations={LAST_APPLIED: "stale", "note": "x"})

    modified = with_last_applied(config)

    recorded = modified["metadata"]["annotations"][LAST_APPLIED]
    assert recorded.endswith("}\n")
    assert json.loads(recorded)["metadata"]["annotations"] == {"note": "x"}
    assert last_applied(modified) == json.loads(recorded)
    assert last_applied(deployment()) is None
