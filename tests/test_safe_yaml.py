"""The suite's one YAML loader: plain data loads as PyYAML's safe loader loads it; bombs, cycles and deep
nesting are refused wherever they are, in time and memory proportional to the text."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import safe_yaml
from contracts.safe_yaml import MAX_DEPTH, YamlProblem

# Where a bomb can hide in a cassette: the top, a header value, a body, a key of a nested mapping.
PLACES = (
    "bomb: {value}\nhttp_interactions: []\n",
    "http_interactions:\n- request: {{method: GET, uri: /x, headers: {{Accept: {value}}}}}\n  response: null\n",
    "http_interactions:\n- request: {{method: GET, uri: /x, body: {{string: {value}}}}}\n  response: null\n",
    "http_interactions:\n- response: {{status: {{code: '200'}}, headers: {{X: [{{deeper: {value}}}]}}}}\n",
)


def alias_bomb(levels: int, width: int, place: str) -> str:
    """The billion laughs: each level an anchored list of ``width`` aliases of the level below."""
    lines = [f"- &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"- &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    anchors = "defs:\n" + "\n".join(f"  {line}" for line in lines) + "\n"
    return anchors + place.format(value=f"*a{levels}")


def test_the_issues_bomb_in_a_header_value_is_refused_at_once():
    text = alias_bomb(levels=9, width=9, place=PLACES[1])
    assert len(text) < 1200
    started = time.perf_counter()
    with pytest.raises(YamlProblem, match="alias"):
        safe_yaml.load(text)
    assert time.perf_counter() - started < 1  # the expanded document would be gigabytes


@settings(max_examples=60, deadline=None)
@given(
    levels=st.integers(2, 12),
    width=st.integers(4, 12),
    place=st.sampled_from(PLACES),
)
def test_every_alias_bomb_is_refused_wherever_it_is(levels, width, place):
    text = alias_bomb(levels, width, place)
    expanded = 1 + width * 4  # the list of "lol"s: one per node plus the scalars' length
    for _ in range(levels):
        expanded = 1 + width * expanded
    if expanded <= safe_yaml.EXPANSION_ALLOWANCE + safe_yaml.EXPANSION_RATIO * len(text):
        return  # too small to be a bomb: harmless, and may be accepted
    with pytest.raises(YamlProblem, match="alias"):
        safe_yaml.load(text)


JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=80, deadline=None)
@given(data=JSON_LIKE, shared=JSON_LIKE, repeats=st.integers(0, 5))
def test_plain_data_and_a_few_aliases_load_as_the_safe_loader_loads_them(data, shared, repeats):
    # yaml.dump writes one anchor for an object that appears several times, and aliases for the repeats.
    document = {"data": data, "shared": [shared] * repeats}
    text = yaml.safe_dump(document, allow_unicode=True)
    assert safe_yaml.load(text) == yaml.safe_load(text)  # (not always == document: YAML folds some breaks)


def test_an_alias_inside_the_node_it_names_is_a_cycle():
    for text in ("a: &a [*a]\n", "a: &a {b: [1, {c: *a}]}\n"):
        with pytest.raises(YamlProblem, match="cycle"):
            safe_yaml.load(text)


def test_nesting_through_aliases_counts():
    inner = "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2)
    assert safe_yaml.load(f"a: &a {inner}\n")  # deep, but within the bound
    with pytest.raises(YamlProblem, match="nested"):
        safe_yaml.load(f"a: &a {inner}\nb: [[[[*a]]]]\n")


@pytest.mark.parametrize("text", ["[" * 100_000, "- " * 100_000 + "x", "{a: " * 10_000])
def test_deep_nesting_is_refused_whichever_layer_sees_it_first(text):
    # libyaml >= 0.2.5 has its own nesting limit and may speak before ours: assert the behaviour only.
    with pytest.raises(YamlProblem, match="(?i)nest"):
        safe_yaml.load(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('!!python/object/apply:os.system ["true"]\n', "not valid YAML"),
        ("a: [1\n", "not valid YAML at line"),
        ("a: *nowhere\n", "no anchor"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
    ],
)
def test_other_bad_yaml_is_a_problem_with_a_place(text, expected):
    with pytest.raises(YamlProblem, match=expected):
        safe_yaml.load(text)


def test_aliases_can_be_refused_altogether():
    assert safe_yaml.load("a: &x [1]\nb: [2]\n", aliases=False) == {"a": [1], "b": [2]}  # an anchor alone is fine
    with pytest.raises(YamlProblem, match="aliases"):
        safe_yaml.load("a: &x [1]\nb: *x\n", aliases=False)
