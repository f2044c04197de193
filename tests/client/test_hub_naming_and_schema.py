"""The naming rule and the MCP -> OpenAI schema conversion, without servers."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tdscaling.client import NamingPolicy, openai_parameters, openai_tool
from tdscaling.client._naming import assign_names, sanitize

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_unique_names_are_kept_and_shared_names_get_their_server_prefix() -> None:
    pairs = [("shop", "echo"), ("shop", "add"), ("crm", "echo"), ("crm", "find")]
    assert assign_names(pairs, NamingPolicy()) == ["shop__echo", "add", "crm__echo", "find"]


def test_always_prefixing_prefixes_every_name() -> None:
    pairs = [("shop", "add"), ("crm", "find")]
    assert assign_names(pairs, NamingPolicy(prefix="always", separator="-")) == ["shop-add", "crm-find"]


def test_characters_openai_rejects_become_underscores() -> None:
    assert sanitize("orders.list v2/π") == "orders_list_v2__"


def test_a_name_over_64_characters_is_cut_and_made_unique_by_a_hash() -> None:
    long_a, long_b = "x" * 70 + "a", "x" * 70 + "b"
    a, b = sanitize(long_a), sanitize(long_b)
    assert len(a) == len(b) == 64
    assert a != b
    assert a.startswith("x" * 55 + "_")


def test_names_merged_by_sanitizing_are_told_apart_by_a_counter() -> None:
    pairs = [("s", "get.item"), ("s", "get_item"), ("s", "get item")]
    assert assign_names(pairs, NamingPolicy()) == ["get_item", "get_item_2", "get_item_3"]


def test_a_prefixed_name_that_meets_a_plain_one_is_told_apart() -> None:
    # "a__b" from server a, and a plain tool literally named "a__b" elsewhere.
    pairs = [("a", "b"), ("x", "b"), ("y", "a__b")]
    names = assign_names(pairs, NamingPolicy())
    assert names[0] == "a__b" and names[2] == "a__b_2"


@given(
    st.lists(
        st.tuples(st.sampled_from(["shop", "crm", "a.b", "x" * 60]), st.text(min_size=0, max_size=80)),
        max_size=30,
        unique=True,
    ),
    st.sampled_from([NamingPolicy(), NamingPolicy(prefix="always", separator="-")]),
)
def test_assigned_names_are_always_valid_for_openai_and_distinct(
    pairs: list[tuple[str, str]], policy: NamingPolicy
) -> None:
    names = assign_names(pairs, policy)
    assert len(names) == len(pairs)
    assert len(set(names)) == len(names)
    assert all(OPENAI_NAME.match(name) for name in names)


def test_the_schema_is_copied_without_dollar_schema_and_otherwise_unchanged() -> None:
    mcp_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"priority": {"enum": ["low", "high"]}, "user-id": {"type": "string"}},
        "required": ["user-id"],
        "additionalProperties": False,
    }
    parameters = openai_parameters(mcp_schema)
    assert "$schema" not in parameters
    assert parameters == {k: v for k, v in mcp_schema.items() if k != "$schema"}
    parameters["properties"]["priority"]["enum"].append("mutated")
    assert mcp_schema["properties"]["priority"]["enum"] == ["low", "high"]  # a deep copy


def test_an_empty_schema_becomes_an_object_with_no_properties() -> None:
    assert openai_parameters({}) == {"type": "object", "properties": {}}
    assert openai_parameters(None) == {"type": "object", "properties": {}}


def test_a_tool_is_wrapped_in_the_function_calling_envelope() -> None:
    tool = openai_tool("add", "Add.", {"type": "object", "properties": {"a": {"type": "integer"}}})
    assert tool == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add.",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
        },
    }
