"""Server-side apply and managedFields: ownership, conflicts, pruning, FieldsV1 encoding.

Expected shapes follow what kube-apiserver 1.32 returns for ``kubectl apply --server-side`` and
``kubectl create`` (``kubectl get -o yaml --show-managed-fields``).
"""

from __future__ import annotations

import copy

import pytest

from cluster.api.apply import (
    ApplyConflict,
    Conflict,
    conflict_causes,
    conflict_message,
    decode_fields,
    encode_fields,
    path_string,
    record_update,
    server_side_apply,
)
from cluster.api.patch import PatchError

DEPLOYMENT = ("apps", "v1", "Deployment")
T0, T1, T2, T3 = (f"2025-01-01T00:0{i}:00Z" for i in range(4))


def config(replicas: int = 2, image: str = "nginx:1.25", **extra: object) -> dict:
    """The manifest a user applies: labels, replicas, one container with a port."""
    container: dict = {"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}
    container.update(extra)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container]},
            },
        },
    }


def apply(live: dict | None, applied: dict, manager: str = "kubectl", **kw: object) -> dict:
    options: dict = {"force": False, "gvk": DEPLOYMENT, "now": T1} | kw
    return server_side_apply(live, applied, manager=manager, **options)


def entries(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


def owned(obj: dict, manager: str, operation: str = "Apply") -> set[str]:
    entry = entries(obj).get((manager, operation))
    return {path_string(p) for p in decode_fields(entry["fieldsV1"])} if entry else set()


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def without_managed_fields(obj: dict) -> dict:
    stripped = copy.deepcopy(obj)
    del stripped["metadata"]["managedFields"]
    return stripped


# --- creating with apply --------------------------------------------------------------------


def test_apply_creates_the_object_with_an_apply_entry() -> None:
    """The entry kubectl shows after ``apply --server-side`` of a new Deployment."""
    created = apply(None, config(), now=T0)
    assert without_managed_fields(created) == config()
    assert created["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"nginx"}': {
                                    ".": {},
                                    "f:image": {},
                                    "f:name": {},
                                    "f:ports": {
                                        'k:{"containerPort":80}': {
                                            ".": {},
                                            "f:containerPort": {},
                                        }
                                    },
                                }
                            }
                        },
                    },
                },
            },
        }
    ]


def test_ports_are_keyed_by_all_their_list_map_keys() -> None:
    """``ports`` is a map list keyed by containerPort and protocol (sorted in the key)."""
    applied = config()
    containers(applied)[0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    paths = owned(apply(None, applied), "kubectl")
    port = '.spec.template.spec.containers[name="nginx"].ports[containerPort=80,protocol="TCP"]'
    assert port in paths
    assert port + ".protocol" in paths


def test_set_lists_use_values_and_atomic_lists_are_leaves() -> None:
    applied = config(args=["--a", "--b"])
    applied["metadata"]["finalizers"] = ["example.com/x"]
    created = apply(None, applied)
    fields = entries(created)["kubectl", "Apply"]["fieldsV1"]
    assert fields["f:metadata"]["f:finalizers"] == {'v:"example.com/x"': {}}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert container["f:args"] == {}
    assert '.metadata.finalizers[="example.com/x"]' in owned(created, "kubectl")


def test_identity_server_metadata_and_status_are_not_tracked() -> None:
    applied = config()
    applied["metadata"].update(namespace="default", uid="u", resourceVersion="7", generation=3)
    applied["metadata"]["managedFields"] = [{"manager": "forged"}]
    applied["status"] = {"replicas": 99}
    created = apply(None, applied)
    assert "status" not in created
    assert [e["manager"] for e in created["metadata"]["managedFields"]] == ["kubectl"]
    assert not any(
        p.startswith((".metadata.name", ".metadata.namespace", ".metadata.uid", ".status"))
        for p in owned(created, "kubectl")
    )


def test_apply_rejects_a_body_that_is_not_an_object() -> None:
    with pytest.raises(PatchError):
        apply(None, ["not", "an", "object"])  # type: ignore[arg-type]


def test_apply_does_not_mutate_its_inputs() -> None:
    live = apply(None, config(), now=T0)
    applied = config(replicas=4)
    before_live, before_applied = copy.deepcopy(live), copy.deepcopy(applied)
    apply(live, applied)
    assert (live, applied) == (before_live, before_applied)


# --- applying again -------------------------------------------------------------------------


def test_reapplying_the_same_config_changes_nothing() -> None:
    live = apply(None, config(), now=T0)
    assert apply(live, config(), now=T1) == live


def test_apply_changes_a_field_it_owns_without_conflict() -> None:
    live = apply(None, config(), now=T0)
    updated = apply(live, config(replicas=5, image="nginx:1.27"), now=T1)
    assert updated["spec"]["replicas"] == 5
    assert containers(updated)[0]["image"] == "nginx:1.27"
    assert entries(updated)["kubectl", "Apply"]["time"] == T1


def test_fields_dropped_from_the_config_are_removed() -> None:
    """Real SSA prunes what the applier owned and no longer lists."""
    first = config(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    first["metadata"]["labels"]["tier"] = "fe"
    containers(first).append({"name": "side", "image": "busybox"})
    live = apply(None, first, now=T0)
    live = apply(live, config(env=[{"name": "A", "value": "1"}]), now=T1)
    assert live["metadata"]["labels"] == {"app": "web"}
    assert [c["name"] for c in containers(live)] == ["nginx"]
    assert containers(live)[0]["env"] == [{"name": "A", "value": "1"}]
    assert not any("side" in p or "tier" in p for p in owned(live, "kubectl"))


def test_dropping_every_entry_of_a_list_removes_the_list() -> None:
    live = apply(None, config(env=[{"name": "A", "value": "1"}]), now=T0)
    live = apply(live, config(), now=T1)
    assert "env" not in containers(live)[0]


def test_dropped_field_owned_by_another_manager_is_kept() -> None:
    live = apply(None, config(), now=T0)
    live = apply(live, config(), manager="other", now=T1)
    live = apply(live, {"apiVersion": "apps/v1", "kind": "Deployment"}, now=T2)
    assert live["spec"]["replicas"] == 2
    assert owned(live, "kubectl") == set()
    assert ("kubectl", "Apply") not in entries(live)


def test_fields_the_applier_never_owned_are_kept() -> None:
    """Another writer's annotation and the controller's status survive an apply."""
    live = apply(None, config(), now=T0)
    written = copy.deepcopy(live)
    written["metadata"]["annotations"] = {"note": "x"}
    written["status"] = {"replicas": 2}
    live = record_update(live, written, manager="editor", now=T1, api_version="apps/v1")
    live = apply(live, config(replicas=3), now=T2)
    assert live["metadata"]["annotations"] == {"note": "x"}
    assert live["status"] == {"replicas": 2}


def test_null_in_the_config_clears_the_field_and_owns_it() -> None:
    live = apply(None, config(), now=T0)
    applied = config()
    applied["spec"]["replicas"] = None
    cleared = apply(live, applied, now=T1)
    assert "replicas" not in cleared["spec"]
    assert ".spec.replicas" in owned(cleared, "kubectl")


def test_new_containers_are_appended_and_merged_by_name() -> None:
    live = apply(None, config(), now=T0)
    applied = config(image="nginx:1.27")
    containers(applied).insert(0, {"name": "side", "image": "busybox"})
    merged = apply(live, applied, now=T1)
    assert [c["name"] for c in containers(merged)] == ["nginx", "side"]
    assert containers(merged)[0]["ports"] == [{"containerPort": 80}]


# --- conflicts ------------------------------------------------------------------------------


def test_same_value_from_two_appliers_is_shared_not_a_conflict() -> None:
    live = apply(None, config(), now=T0)
    shared = apply(live, config(), manager="other", now=T1)
    assert ".spec.replicas" in owned(shared, "kubectl")
    assert ".spec.replicas" in owned(shared, "other")


def test_different_value_from_another_applier_conflicts() -> None:
    live = apply(None, config(), now=T0)
    with pytest.raises(ApplyConflict) as raised:
        apply(live, config(replicas=5), manager="other", now=T1)
    assert raised.value.conflicts == [Conflict("kubectl", ".spec.replicas", "Apply", "apps/v1")]
    assert (
        str(raised.value) == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    )
    assert raised.value.causes() == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl"',
            "field": ".spec.replicas",
        }
    ]


def test_server_side_apply_after_client_side_apply_conflicts_as_kubectl_shows() -> None:
    """Migrating from client-side apply: the Update manager is named with its apiVersion."""
    created = record_update(
        None, config(), manager="kubectl-client-side-apply", now=T0, api_version="apps/v1"
    )
    with pytest.raises(ApplyConflict) as raised:
        apply(created, config(replicas=3), now=T1)
    assert str(raised.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
        "using apps/v1: .spec.replicas"
    )
    assert raised.value.causes()[0]["message"] == (
        'conflict with "kubectl-client-side-apply" using apps/v1'
    )


def test_force_moves_ownership_to_the_applier() -> None:
    live = record_update(None, config(), manager="kubectl-edit", now=T0, api_version="apps/v1")
    forced = apply(live, config(replicas=7, image="nginx:1.27"), force=True, now=T1)
    assert forced["spec"]["replicas"] == 7
    image = '.spec.template.spec.containers[name="nginx"].image'
    assert {".spec.replicas", image} <= owned(forced, "kubectl")
    assert not {".spec.replicas", image} & owned(forced, "kubectl-edit", "Update")
    assert ".spec.selector" in owned(forced, "kubectl-edit", "Update")


def test_conflicting_nested_field_path_and_many_conflicts_message() -> None:
    live = apply(None, config(), now=T0)
    with pytest.raises(ApplyConflict) as raised:
        apply(live, config(replicas=4, image="nginx:1.27"), manager="ci", now=T1)
    paths = [c.path for c in raised.value.conflicts]
    assert paths == [".spec.replicas", '.spec.template.spec.containers[name="nginx"].image']
    assert str(raised.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )


def test_object_without_managed_fields_is_owned_by_before_first_apply() -> None:
    """Objects the simulator made without recording owners conflict like kube's."""
    with pytest.raises(ApplyConflict) as raised:
        apply(config(replicas=1), config(replicas=3), now=T1)
    assert raised.value.conflicts[0].manager == "before-first-apply"
    forced = apply(config(replicas=1), config(replicas=3), force=True, now=T1)
    assert ".spec.replicas" not in owned(forced, "before-first-apply", "Update")


# --- record_update --------------------------------------------------------------------------


def test_create_records_an_update_entry_with_granular_maps() -> None:
    """``kubectl create`` entries mark maps it created with ``.`` (``f:labels: {.: {}}``)."""
    created_object = config()
    created_object["metadata"].update(uid="u", resourceVersion="1", creationTimestamp=T0)
    created_object["status"] = {"replicas": 0}
    created = record_update(
        None, created_object, manager="kubectl-create", now=T0, api_version="apps/v1"
    )
    (entry,) = created["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-create"
    assert entry["operation"] == "Update"
    assert entry["time"] == T0
    assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert "f:status" not in entry["fieldsV1"]


def test_update_takes_changed_fields_from_other_managers() -> None:
    live = apply(None, config(), now=T0)
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 9
    scaled = record_update(live, scaled, manager="kubectl-scale", now=T1, api_version="apps/v1")
    assert owned(scaled, "kubectl-scale", "Update") == {".spec.replicas"}
    assert ".spec.replicas" not in owned(scaled, "kubectl")
    assert entries(scaled)["kubectl", "Apply"]["time"] == T0


def test_update_that_changes_nothing_keeps_the_entry_time() -> None:
    live = record_update(None, config(), manager="m", now=T0, api_version="apps/v1")
    assert (
        record_update(live, copy.deepcopy(live), manager="m", now=T1, api_version="apps/v1") == live
    )


def test_update_removing_fields_takes_them_from_every_owner() -> None:
    live = apply(None, config(env=[{"name": "A", "value": "1"}]), now=T0)
    edited = copy.deepcopy(live)
    del containers(edited)[0]["env"]
    edited = record_update(live, edited, manager="editor", now=T1, api_version="apps/v1")
    assert not any(".env" in p for p in owned(edited, "kubectl"))
    assert ("editor", "Update") not in entries(edited)


def test_managed_fields_are_sorted_apply_first_then_by_time() -> None:
    live = record_update(None, config(), manager="z-create", now=T0, api_version="apps/v1")
    live = apply(live, config(), manager="b", now=T2)
    live = apply(live, config(), manager="a", now=T3)
    order = [(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]]
    assert order == [("b", "Apply"), ("a", "Apply"), ("z-create", "Update")]


def test_unknown_kinds_track_every_map_key_and_lists_atomically() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"items": [1, 2], "x": {}}}
    created = server_side_apply(
        None, widget, manager="m", force=False, gvk=("example.com", "v1", "Widget"), now=T0
    )
    assert created["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {".": {}, "f:items": {}, "f:x": {}}
    }


# --- FieldsV1 and messages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((("f", "spec"), ("f", "replicas")), ".spec.replicas"),
        (
            (("f", "spec"), ("f", "ports"), ("k", '{"port":80,"protocol":"TCP"}')),
            '.spec.ports[port=80,protocol="TCP"]',
        ),
        ((("f", "metadata"), ("f", "finalizers"), ("v", '"a"')), '.metadata.finalizers[="a"]'),
        ((("f", "items"), ("i", "2")), ".items[2]"),
    ],
    ids=["fields", "map-key", "set-value", "index"],
)
def test_path_string(path: tuple, text: str) -> None:
    assert path_string(path) == text


def test_fields_v1_round_trip() -> None:
    fields = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:c": {'k:{"name":"a"}': {".": {}, "f:image": {}}, 'v:"x"': {}, "i:0": {}}},
    }
    assert encode_fields(decode_fields(fields)) == fields


def test_conflict_message_groups_many_conflicts_by_manager() -> None:
    conflicts = [
        Conflict("web-editor", ".spec.replicas", "Update", "apps/v1"),
        Conflict("ci", ".metadata.labels.app"),
        Conflict("web-editor", ".spec.paused", "Update", "apps/v1"),
    ]
    assert conflict_message(conflicts) == (
        'Apply failed with 3 conflicts: conflicts with "ci":\n'
        "- .metadata.labels.app\n"
        'conflicts with "web-editor" using apps/v1:\n'
        "- .spec.replicas\n"
        "- .spec.paused"
    )
    assert [c["field"] for c in conflict_causes(conflicts)] == [
        ".spec.replicas",
        ".metadata.labels.app",
        ".spec.paused",
    ]
