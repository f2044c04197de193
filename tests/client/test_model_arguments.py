"""Parsing and trivially repairing a model's tool-call arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdscaling.client import parse_arguments

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
objects = st.dictionaries(texts, values, max_size=4)


@given(objects)
def test_valid_json_objects_parse_unchanged_and_unrepaired(value: dict[str, Any]) -> None:
    parsed = parse_arguments(json.dumps(value))
    assert (parsed.value, parsed.repaired, parsed.error) == (value, False, None)


@given(objects)
def test_python_dict_literals_are_repaired_to_the_same_object(value: dict[str, Any]) -> None:
    parsed = parse_arguments(repr(value))
    assert parsed.error is None
    assert parsed.value == value


@given(objects.filter(bool))
def test_a_missing_final_brace_is_restored(value: dict[str, Any]) -> None:
    parsed = parse_arguments(json.dumps(value)[:-1])
    assert parsed.value == value and parsed.repaired


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1,}', {"a": 1}),
        ('{"a": [1, 2,], }', {"a": [1, 2]}),
        ("{'a': 'it\\'s'}", {"a": "it's"}),
        ("{'a': 'say \"hi\"'}", {"a": 'say "hi"'}),
        ('{"ok": True, "none": None, "no": False}', {"ok": True, "none": None, "no": False}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('{"a": {"b": [1', {"a": {"b": [1]}}),
        ('{city: "Oslo"}', {"city": "Oslo"}),
        ('"{\\"a\\": 1}"', {"a": 1}),
        ('{"text": "line one\nline two"}', {"text": "line one\nline two"}),
        ('{"text": "True, None, trailing,}"}', {"text": "True, None, trailing,}"}),
    ],
)
def test_trivial_damage_is_repaired(raw: str, expected: dict[str, Any]) -> None:
    parsed = parse_arguments(raw, tool_name="t")
    assert parsed.error is None, parsed.error
    assert parsed.value == expected


def test_text_inside_strings_is_never_rewritten() -> None:
    parsed = parse_arguments("{'note': 'None of True, False,]'}")
    assert parsed.value == {"note": "None of True, False,]"}


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_arguments_mean_no_arguments(raw: str) -> None:
    assert parse_arguments(raw).value == {}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"a": "unterminated', "not valid JSON"),
        ('{"a": 1]', "not valid JSON"),
        ("please add 2 and 2", "not valid JSON"),
        ('Sure! {"a": 1}', "not valid JSON"),
        ("[1, 2]", "got an array"),
        ('"just a string"', "got a string"),
        ("42", "got a number"),
        ("null", "got null"),
    ],
)
def test_damage_that_is_not_trivial_is_explained_to_the_model(raw: str, words: str) -> None:
    parsed = parse_arguments(raw, tool_name="create_order")
    assert parsed.value is None
    assert parsed.error is not None
    assert words in parsed.error
    assert "create_order" in parsed.error  # the model is told which call to redo
