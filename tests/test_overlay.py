"""The Overlay 1.0 applier: merge semantics, remove, targets, and errors."""

from __future__ import annotations

import copy
import re

import jsonpath_rfc9535 as jsonpath
import oas_patch.overlay as oas_patch
import pytest
from hypothesis import given
from hypothesis import strategies as st

import openapi
from openapi.overlay import OverlayError, apply_overlay, merge


def overlay(*actions: dict) -> dict:
    return {"overlay": "1.0.0", "info": {"title": "t", "version": "1"}, "actions": list(actions)}


def test_update_merges_objects_recursively_and_replaces_primitives() -> None:
    doc = {"a": {"b": 1, "c": {"d": 2}}, "keep": True}
    out = apply_overlay(doc, overlay({"target": "$.a", "update": {"b": 9, "c": {"e": 3}}}))
    assert out == {"a": {"b": 9, "c": {"d": 2, "e": 3}}, "keep": True}


def test_update_appends_to_arrays() -> None:
    out = apply_overlay({"tags": ["x"]}, overlay({"target": "$.tags", "update": ["y", "z"]}))
    assert out["tags"] == ["x", "y", "z"]


def test_remove_deletes_every_selected_node_including_list_items() -> None:
    doc = {"params": [{"name": "a"}, {"name": "key"}, {"name": "b"}, {"name": "key"}], "x": {"y": 1, "z": 2}}
    out = apply_overlay(
        doc,
        overlay(
            {"target": "$.params[?@.name == 'key']", "remove": True},
            {"target": "$.x['y','z']", "remove": True},
        ),
    )
    assert out == {"params": [{"name": "a"}, {"name": "b"}], "x": {}}


def test_actions_apply_in_order_and_input_is_not_mutated() -> None:
    doc = {"s": {"$ref": "#/x", "description": "d"}}
    out = apply_overlay(
        doc,
        overlay(
            {"target": "$.s['$ref']", "remove": True},
            {"target": "$.s", "update": {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}},
        ),
    )
    assert out == {"s": {"description": "d", "anyOf": [{"$ref": "#/x"}, {"type": "null"}]}}
    assert doc == {"s": {"$ref": "#/x", "description": "d"}}


def test_names_with_colons_and_brackets_are_targetable() -> None:
    doc = {"components": {"schemas": {"batch:State<Inference>": {"type": "object"}}}}
    out = apply_overlay(
        doc, overlay({"target": "$.components.schemas['batch:State<Inference>']", "update": {"title": "S"}})
    )
    assert out["components"]["schemas"]["batch:State<Inference>"]["title"] == "S"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"actions": [{"target": "$", "update": {}}]}, "not an Overlay"),
        ({"overlay": "1.0.0", "actions": []}, "non-empty"),
        ({"overlay": "1.0.0", "actions": [{"update": {}}]}, "target"),
        (
            {"overlay": "1.0.0", "actions": [{"target": "$.a", "remove": True, "update": {}}]},
            "mutually exclusive",
        ),
        ({"overlay": "1.0.0", "actions": [{"target": "$.a"}]}, "needs 'update'"),
        ({"overlay": "1.0.0", "actions": [{"target": "$.nothing", "update": {}}]}, "selects nothing"),
        ({"overlay": "1.0.0", "actions": [{"target": "$[?", "update": {}}]}, "bad JSONPath"),
    ],
)
def test_malformed_overlays_are_refused_with_the_action_named(bad: dict, message: str) -> None:
    with pytest.raises(OverlayError, match=message):
        apply_overlay({"a": 1}, bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=10,
)


@given(json_values, json_values)
def test_merge_into_an_object_keeps_every_key_of_both(target: object, update: object) -> None:
    if isinstance(target, dict) and isinstance(update, dict):
        merged = merge(dict(target), update)
        assert set(merged) == set(target) | set(update)
    elif isinstance(target, list) and isinstance(update, list):
        assert merge(list(target), update) == [*target, *update]
    else:
        assert merge(target, update) == update


# -- the shipped overlays with another Overlay implementation -------------------------------------------------

FILTER = re.compile(r"\[\?(?!\()")  # a filter selector whose expression is not parenthesised


def test_the_shipped_overlays_reproduce_repaired_yaml_with_an_independent_overlay_tool() -> None:
    """oas-patch (jsonpath-ng, its own merge) applies both overlays to the upstream: same document."""
    document = copy.deepcopy(openapi.load_upstream())
    for shipped in (openapi.load_overlay(), openapi.load_names_overlay()):
        document = oas_patch.apply_overlay(document, copy.deepcopy(shipped))
    assert document == openapi.load_repaired()


def test_every_filter_target_is_parenthesised_so_every_tool_parses_it() -> None:
    """`[?(@.x == 'y')]` is RFC 9535 too, and the form openapi-format, bump-cli and oas-patch all read."""
    targets = [a["target"] for o in (openapi.load_overlay(), openapi.load_names_overlay()) for a in o["actions"]]
    filters = [target for target in targets if "[?" in target]
    assert filters, "the overlays use filters; this test must see them"
    assert [target for target in filters if FILTER.search(target)] == []
    assert all(jsonpath.compile(target) for target in filters)  # and the suite's RFC 9535 parser reads them
