"""The PATCH engines: RFC 7386, RFC 6902 and Kubernetes strategic merge patch.

The strategic-merge cases use the bodies real kubectl 1.32 sends (see docs in
``/work/shared/kubectl-api.md`` §5.1-5.3 and §5.7) against objects shaped like the simulator's.
"""

from __future__ import annotations

import copy

import pytest

from cluster.api.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

DEPLOYMENT = ("apps", "v1", "Deployment")
POD = ("", "v1", "Pod")
NODE = ("", "v1", "Node")
SERVICE = ("", "v1", "Service")


def deployment(**spec_overrides: object) -> dict:
    """An nginx Deployment as the simulator stores it, with ports, resources and env."""
    container = {
        "name": "nginx",
        "image": "nginx:1.25",
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    }
    spec = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        },
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [container]},
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": spec,
    }


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def node() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "finalizers": ["a", "b"]},
        "spec": {"taints": [{"key": "old", "value": "x", "effect": "NoSchedule"}]},
    }


# --- merge_patch (RFC 7386) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
        ({"a": "b"}, {"a": {"c": None, "d": 1}}, {"a": {"d": 1}}),
    ],
    ids=[
        "replace-scalar",
        "add-key",
        "null-deletes",
        "null-deletes-only-that-key",
        "scalar-replaces-list",
        "list-replaces-scalar",
        "nested-merge",
        "list-replaced-whole",
        "existing-null-kept",
        "nested-null-in-new-map-dropped",
        "map-replaces-scalar",
    ],
)
def test_merge_patch_follows_rfc7386_examples(target: dict, patch: dict, expected: dict) -> None:
    """The examples of RFC 7386 appendix A (those whose target is an object)."""
    assert merge_patch(target, patch) == expected


def test_merge_patch_label_as_kubectl_label_sends_it() -> None:
    """``kubectl label deploy web tier=fe`` adds a label and keeps the others."""
    patched = merge_patch(deployment(), {"metadata": {"labels": {"tier": "fe"}}})
    assert patched["metadata"]["labels"] == {"app": "web", "tier": "fe"}


def test_merge_patch_replaces_lists_so_it_would_drop_ports() -> None:
    """The reason SMP exists: a merge patch replaces the whole containers list."""
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "x"}]}}}}
    assert containers(merge_patch(deployment(), patch)) == [{"name": "nginx", "image": "x"}]


def test_merge_patch_does_not_mutate_inputs() -> None:
    target, patch = deployment(), {"spec": {"replicas": None, "x": {"y": 1}}}
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    result = merge_patch(target, patch)
    result["spec"]["x"]["y"] = 2
    assert (target, patch) == (before_target, before_patch)


@pytest.mark.parametrize("patch", [[], "x", 3, None], ids=["list", "string", "int", "null"])
def test_merge_patch_rejects_a_body_that_is_not_an_object(patch: object) -> None:
    with pytest.raises(PatchError):
        merge_patch({}, patch)  # type: ignore[arg-type]


# --- json_patch (RFC 6902) ------------------------------------------------------------------


def test_json_patch_operations() -> None:
    """add, remove, replace, move, copy and test, in order, as RFC 6902 section 4."""
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/spec/replicas", "value": 5},
        {"op": "add", "path": "/metadata/labels/tier", "value": "fe"},
        {"op": "remove", "path": "/metadata/labels/app"},
        {"op": "copy", "from": "/metadata/labels/tier", "path": "/metadata/labels/copy"},
        {"op": "move", "from": "/metadata/labels/copy", "path": "/metadata/annotations"},
        {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "side"}},
    ]
    patched = json_patch(deployment(), ops)
    assert patched["spec"]["replicas"] == 5
    assert patched["metadata"]["labels"] == {"tier": "fe"}
    assert patched["metadata"]["annotations"] == "fe"
    assert [c["name"] for c in containers(patched)] == ["nginx", "side"]


def test_json_patch_rollout_undo_replaces_the_template() -> None:
    """``kubectl rollout undo`` sends one ``replace`` of ``/spec/template`` (plus annotations)."""
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "n"}]}}
    ops = [{"op": "replace", "path": "/spec/template", "value": template}]
    assert json_patch(deployment(), ops)["spec"]["template"] == template


def test_json_patch_does_not_mutate_target() -> None:
    target = deployment()
    json_patch(target, [{"op": "remove", "path": "/spec/replicas"}])
    assert target["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/spec/replicas", "value": 4}],
        [{"op": "remove", "path": "/spec/nope"}],
        [{"op": "replace", "path": "spec/replicas", "value": 1}],
        [{"op": "frobnicate", "path": "/spec"}],
        [{"op": "add", "path": "/spec/template/spec/containers/9", "value": {}}],
        [{"path": "/spec"}],
        [{"op": "add", "path": "/spec/x"}],
        ["not-an-op"],
        [{"op": "replace", "path": "", "value": [1]}],
        {"op": "add"},
    ],
    ids=[
        "failed-test",
        "missing-path",
        "pointer-without-slash",
        "unknown-op",
        "index-out-of-range",
        "no-op",
        "add-without-value",
        "op-not-object",
        "result-not-object",
        "ops-not-list",
    ],
)
def test_json_patch_errors_become_patch_error(ops: object) -> None:
    with pytest.raises(PatchError):
        json_patch(deployment(), ops)  # type: ignore[arg-type]


# --- strategic merge patch: kubectl's own bodies --------------------------------------------


def test_set_image_keeps_the_rest_of_the_container() -> None:
    """``kubectl set image`` sends a partial container: ports, resources and env survive."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "nginx:1.27", "name": "nginx"}],
                }
            }
        }
    }
    (container,) = containers(strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT))
    expected = containers(deployment())[0] | {"image": "nginx:1.27"}
    assert container == expected


def test_client_side_apply_patch_updates_annotation_and_replicas() -> None:
    """The PATCH of ``kubectl apply`` on an existing object (§5.2 step 4)."""
    last_applied = '{"apiVersion":"apps/v1","kind":"Deployment"}\n'
    patch = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}
        },
        "spec": {
            "replicas": 5,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "nginx:1.26", "name": "nginx"}],
                }
            },
        },
    }
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": last_applied
    }
    assert patched["metadata"]["labels"] == {"app": "web"}
    assert patched["spec"]["replicas"] == 5
    assert containers(patched)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert containers(patched)[0]["image"] == "nginx:1.26"


def test_client_side_apply_removes_a_dropped_container_and_env() -> None:
    """Apply computes ``$patch: delete`` elements for removed entries of merge lists."""
    live = deployment()
    containers(live).append({"name": "side", "image": "busybox"})
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {
                            "name": "nginx",
                            "$setElementOrder/env": [{"name": "A"}],
                            "env": [{"name": "B", "$patch": "delete"}],
                        },
                        {"name": "side", "$patch": "delete"},
                    ],
                }
            }
        }
    }
    patched = strategic_merge_patch(live, patch, gvk=DEPLOYMENT)
    assert [c["name"] for c in containers(patched)] == ["nginx"]
    assert containers(patched)[0]["env"] == [{"name": "A", "value": "1"}]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            {"spec": {"unschedulable": True}},
            {"taints": node()["spec"]["taints"], "unschedulable": True},
        ),
        ({"spec": {"unschedulable": None}}, {"taints": node()["spec"]["taints"]}),
    ],
    ids=["cordon", "uncordon"],
)
def test_cordon_and_uncordon(patch: dict, expected: dict) -> None:
    live = node()
    live["spec"]["unschedulable"] = True
    if patch["spec"]["unschedulable"]:
        del live["spec"]["unschedulable"]
    assert strategic_merge_patch(live, patch, gvk=NODE)["spec"] == expected


def test_taint_replaces_the_whole_list() -> None:
    """``kubectl taint`` sends the full list: taints have no merge strategy."""
    taints = [{"effect": "NoSchedule", "key": "k", "value": "v"}]
    patched = strategic_merge_patch(node(), {"spec": {"taints": taints}}, gvk=NODE)
    assert patched["spec"]["taints"] == taints


@pytest.mark.parametrize(
    ("field", "live", "patch"),
    [
        ("tolerations", [{"key": "a", "operator": "Exists"}], [{"key": "b", "operator": "Exists"}]),
        ("args", ["--a", "--b"], ["--c"]),
        ("command", ["sh", "-c", "x"], ["nginx"]),
    ],
    ids=["tolerations", "args", "command"],
)
def test_lists_without_merge_strategy_are_replaced(field: str, live: list, patch: list) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    if field == "tolerations":
        pod["spec"]["tolerations"] = live
        body = {"spec": {"tolerations": patch}}
    else:
        pod["spec"]["containers"][0][field] = live
        body = {"spec": {"containers": [{"name": "c", field: patch}]}}
    patched = strategic_merge_patch(pod, body, gvk=POD)
    where = patched["spec"] if field == "tolerations" else patched["spec"]["containers"][0]
    assert where[field] == patch


def test_rollout_restart_adds_a_template_annotation() -> None:
    """``kubectl rollout restart`` patches ``restartedAt`` into the pod template annotations."""
    at = "2025-01-01T00:00:00Z"
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}
        }
    }
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": at},
    }
    assert containers(patched) == containers(deployment())


@pytest.mark.parametrize(
    ("patch", "paused"),
    [({"spec": {"paused": True}}, True), ({"spec": {"paused": None}}, None)],
    ids=["pause", "resume"],
)
def test_rollout_pause_and_resume(patch: dict, paused: bool | None) -> None:
    patched = strategic_merge_patch(deployment(paused=True), patch, gvk=DEPLOYMENT)
    assert patched["spec"].get("paused") is paused


def test_retain_keys_switching_to_recreate_drops_rolling_update() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["spec"]["strategy"] == {"type": "Recreate"}


def test_without_retain_keys_the_strategy_merges() -> None:
    patch = {"spec": {"strategy": {"type": "Recreate"}}}
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": "25%",
        "maxUnavailable": "25%",
    }


def test_retain_keys_on_a_volume_switches_its_source() -> None:
    """Volumes merge by name with ``retainKeys``: an emptyDir becomes a configMap volume."""
    pod = {
        "spec": {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "keep", "emptyDir": {}}]}
    }
    patch = {
        "spec": {
            "volumes": [
                {"$retainKeys": ["configMap", "name"], "name": "data", "configMap": {"name": "c"}}
            ]
        }
    }
    patched = strategic_merge_patch(pod, patch, gvk=POD)
    assert patched["spec"]["volumes"] == [
        {"name": "data", "configMap": {"name": "c"}},
        {"name": "keep", "emptyDir": {}},
    ]


def test_retain_keys_rejects_a_patch_field_it_does_not_list() -> None:
    patch = {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}
    }
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)


# --- strategic merge patch: merge lists -----------------------------------------------------


def test_env_merges_by_name() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                        }
                    ]
                }
            }
        }
    }
    env = containers(strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT))[0]["env"]
    assert env == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]


def test_new_container_is_added_and_old_one_kept() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert [c["name"] for c in containers(patched)] == ["side", "nginx"]
    assert containers(patched)[1] == containers(deployment())[0]


def test_new_container_with_set_element_order_goes_where_the_order_says() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "side"}],
                    "containers": [{"name": "side", "image": "busybox"}],
                }
            }
        }
    }
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert [c["name"] for c in containers(patched)] == ["nginx", "side"]


def test_patch_delete_removes_a_container_by_name() -> None:
    live = deployment()
    containers(live).append({"name": "side", "image": "busybox"})
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}
    patched = strategic_merge_patch(live, patch, gvk=DEPLOYMENT)
    assert containers(patched) == containers(deployment())


def test_patch_delete_element_without_merge_key_is_an_error() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)


def test_patch_replace_element_replaces_the_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "only", "image": "x"}, {"$patch": "replace"}]}
            }
        }
    }
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert containers(patched) == [{"name": "only", "image": "x"}]


def test_patch_merge_in_a_list_is_rejected_as_kubernetes_does() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)


def test_merge_list_element_without_merge_key_is_an_error() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)


def test_merge_list_element_that_is_not_an_object_is_an_error() -> None:
    patch = {"spec": {"template": {"spec": {"containers": ["nginx"]}}}}
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)


def test_ports_merge_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "nginx", "ports": [{"containerPort": 443}]}]}
            }
        }
    }
    ports = containers(strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT))[0]["ports"]
    assert ports == [{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}]


def test_service_ports_merge_by_port() -> None:
    service = {"spec": {"ports": [{"port": 80, "targetPort": 8080, "name": "http"}]}}
    patch = {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}
    patched = strategic_merge_patch(service, patch, gvk=SERVICE)
    assert patched["spec"]["ports"] == [{"port": 80, "targetPort": 9090, "name": "http"}]


def test_finalizers_merge_as_a_set() -> None:
    patched = strategic_merge_patch(node(), {"metadata": {"finalizers": ["b", "c"]}}, gvk=NODE)
    assert patched["metadata"]["finalizers"] == ["a", "b", "c"]


def test_delete_from_primitive_list() -> None:
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}}
    patched = strategic_merge_patch(node(), patch, gvk=NODE)
    assert patched["metadata"]["finalizers"] == ["c", "b"]


def test_delete_from_primitive_list_of_a_missing_list_does_nothing() -> None:
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}
    live = {"metadata": {"name": "n"}}
    assert strategic_merge_patch(live, patch, gvk=NODE) == live


# --- strategic merge patch: $setElementOrder (preserve-order-in-strategic-merge-patch.md) ----


def _env_pod(*names: str) -> dict:
    env = [{"name": n, "value": n.lower()} for n in names]
    return {"spec": {"containers": [{"name": "c", "env": env}]}}


def _env_names(obj: dict) -> list[str]:
    return [e["name"] for e in obj["spec"]["containers"][0]["env"]]


@pytest.mark.parametrize(
    ("live", "order", "patch_names", "expected"),
    [
        (["B", "A"], ["A", "B"], [], ["A", "B"]),
        (["A", "B"], ["C", "A", "B"], ["A", "B"], ["A", "B"]),
        (["C", "B", "D", "A", "E"], ["A", "B"], ["A", "B"], ["C", "D", "A", "B", "E"]),
        (["A", "B"], ["A", "B", "C"], ["C"], ["A", "B", "C"]),
        (["X", "A"], ["B", "A"], ["B"], ["B", "X", "A"]),
    ],
    ids=[
        "reorder-only",
        "unknown-order-entries-ignored",
        "server-only-interleaved-by-live-order",
        "append-at-the-end",
        "new-named-element-goes-before-server-only",
    ],
)
def test_set_element_order(
    live: list[str], order: list[str], patch_names: list[str], expected: list[str]
) -> None:
    """Named elements follow the order list; server-only ones keep their live position.

    The third case is apimachinery's actual ``mergeSortedSlice`` result: a server-only element
    (E) that stood after the named ones in the live list stays after them, and a named element
    the live list lacks (B in the last case) is placed before the remaining server-only ones.
    """
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "$setElementOrder/env": [{"name": n} for n in order],
                    "env": [{"name": n, "value": n.lower() + "'"} for n in patch_names],
                }
            ]
        }
    }
    patched = strategic_merge_patch(_env_pod(*live), patch, gvk=POD)
    assert _env_names(patched) == expected


def test_patch_list_order_is_kept_without_set_element_order() -> None:
    """From the design note: patch A', B', D onto live B, C, A gives C, A', B', D."""
    patch = {"spec": {"containers": [{"name": "c", "env": [{"name": n} for n in "ABD"]}]}}
    assert _env_names(strategic_merge_patch(_env_pod("B", "C", "A"), patch, gvk=POD)) == list(
        "CABD"
    )


def test_set_element_order_not_matching_the_patch_list_is_rejected() -> None:
    patch = {
        "spec": {
            "containers": [
                {"name": "c", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "B"}]}
            ]
        }
    }
    with pytest.raises(PatchError):
        strategic_merge_patch(_env_pod("A", "B"), patch, gvk=POD)


def test_set_element_order_of_primitives() -> None:
    patch = {"metadata": {"$setElementOrder/finalizers": ["b", "a", "c"], "finalizers": ["c"]}}
    patched = strategic_merge_patch(node(), patch, gvk=NODE)
    assert patched["metadata"]["finalizers"] == ["b", "a", "c"]


def test_set_element_order_for_a_list_absent_everywhere_is_dropped() -> None:
    patch = {"spec": {"$setElementOrder/containers": [{"name": "x"}]}}
    assert strategic_merge_patch({"spec": {}}, patch, gvk=POD) == {"spec": {}}


# --- strategic merge patch: map directives and fallbacks ------------------------------------


def test_patch_replace_on_a_map() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["metadata"]["labels"] == {"only": "this"}


def test_patch_delete_on_a_map_removes_it() -> None:
    patch = {"spec": {"strategy": {"$patch": "delete"}}}
    assert "strategy" not in strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)["spec"]


def test_patch_merge_on_a_map_is_the_default_merge() -> None:
    patch = {"metadata": {"labels": {"$patch": "merge", "tier": "fe"}}}
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert patched["metadata"]["labels"] == {"app": "web", "tier": "fe"}


def test_unknown_patch_directive_is_an_error() -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), {"spec": {"$patch": "explode"}}, gvk=DEPLOYMENT)


def test_no_directive_survives_in_the_result() -> None:
    """New subtrees carry directives too; none may be stored."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "side",
                            "$setElementOrder/env": [{"name": "X"}],
                            "env": [{"name": "X", "value": "1"}],
                        }
                    ],
                    "volumes": [{"name": "v", "$retainKeys": ["name", "emptyDir"], "emptyDir": {}}],
                    "tolerations": [{"key": "t", "operator": "Exists"}, {"$patch": "replace"}],
                }
            }
        }
    }
    patched = strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)
    assert "$" not in repr(patched)
    assert containers(patched)[0] == {"name": "side", "env": [{"name": "X", "value": "1"}]}


def test_unknown_kind_falls_back_to_merge_patch() -> None:
    """A kind the schemas do not know: lists replace, maps merge, nulls delete."""
    live = {"spec": {"items": [{"name": "a", "v": 1}], "keep": 1, "drop": 2}}
    patch = {"spec": {"items": [{"name": "a", "w": 2}], "drop": None}}
    patched = strategic_merge_patch(live, patch, gvk=("example.com", "v1", "Widget"))
    assert patched == {"spec": {"items": [{"name": "a", "w": 2}], "keep": 1}}


def test_free_form_field_falls_back_to_merge_patch() -> None:
    """Fields the schema does not declare merge like RFC 7386 (lists replaced)."""
    live = deployment()
    live["spec"]["x-extra"] = {"list": [1, 2], "k": "v"}
    patch = {"spec": {"x-extra": {"list": [3], "n": None}}}
    patched = strategic_merge_patch(live, patch, gvk=DEPLOYMENT)
    assert patched["spec"]["x-extra"] == {"list": [3], "k": "v"}


def test_top_level_patch_replace_and_delete() -> None:
    replaced = strategic_merge_patch(node(), {"$patch": "replace", "kind": "Node"}, gvk=NODE)
    assert replaced == {"kind": "Node"}
    assert strategic_merge_patch(node(), {"$patch": "delete"}, gvk=NODE) == {}


def test_strategic_merge_patch_does_not_mutate_inputs() -> None:
    target = deployment()
    containers(target).append({"name": "side", "image": "busybox"})
    patch = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {"name": "nginx", "image": "x"},
                        {"name": "side", "$patch": "delete"},
                    ],
                }
            },
        }
    }
    before_target, before_patch = copy.deepcopy(target), copy.deepcopy(patch)
    strategic_merge_patch(target, patch, gvk=DEPLOYMENT)
    assert (target, patch) == (before_target, before_patch)


@pytest.mark.parametrize(
    "patch",
    [
        [],
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        {"spec": {"template": {"spec": {"$setElementOrder/containers": "nginx"}}}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
    ],
    ids=["not-an-object", "retain-keys-not-list", "order-not-list", "delete-list-not-list"],
)
def test_malformed_strategic_patches(patch: object) -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch(deployment(), patch, gvk=DEPLOYMENT)  # type: ignore[arg-type]
