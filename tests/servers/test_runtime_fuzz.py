"""Fuzzed arguments, valid and invalid, never crash a server nor change state when a call fails.

Numbers include what JSON from a careless client holds: NaN, infinities, huge values and sub-cent amounts.
The in-process client sends NaN as null, so some calls go straight to ``runtime.call``, as a stdio line
carrying ``NaN`` does.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from tdscaling.servers import Catalog, ClusterRuntime, ClusterTool, Templates, domain_cluster

pytestmark = pytest.mark.anyio

CATALOG = Catalog.load()
DOMAINS = CATALOG.names()
WILD_NUMBERS = (st.floats(allow_nan=True, allow_infinity=True)
                | st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e20, -1e300, 10**30, 2**63, 0.005,
                                   0.004, 1.001, 1e-9]))
# Text as JSON can spell it: lone surrogates included ("\ud800" parses to one), which SQLite cannot store.
WILD_TEXT = st.text(max_size=20) | st.text(st.characters(categories=("Cs", "Ll", "Nd")), min_size=1, max_size=8)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | WILD_NUMBERS | WILD_TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=6)


def _value(schema: dict[str, Any], ids: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    pattern = schema.get("pattern", "")
    m = re.match(r"^\^([A-Z]+)-", pattern)
    if m:
        known = ids.get(m.group(1), [])
        return (st.sampled_from(known) if known else st.nothing()) | st.from_regex(r"\A" + m.group(1) + r"-\d{6}\Z")
    if pattern.startswith("^\\d{4}-\\d{2}-\\d{2}$"):
        return st.dates(date(2020, 1, 1), date(2030, 12, 31)).map(date.isoformat)
    if pattern:
        return st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31)).map(lambda d: d.isoformat(timespec="seconds"))
    ty = schema.get("type")
    if ty == "integer":
        return (st.integers(int(schema.get("minimum", -(10**6))), int(schema.get("maximum", 10**6)))
                | st.sampled_from([10**30, -(2**63), 2**64]))
    if ty == "number":
        lo = schema.get("minimum", schema.get("exclusiveMinimum", -1e6))
        plain = st.floats(lo, schema.get("maximum", 1e6), exclude_min="exclusiveMinimum" in schema)
        return plain.map(lambda x: round(x, 2)) | plain.map(lambda x: round(x, 3)) | WILD_NUMBERS
    if ty == "boolean":
        return st.booleans()
    return st.text(min_size=1, max_size=40) | WILD_TEXT.filter(bool)


@st.composite
def _arguments(draw: st.DrawFn, schema: dict[str, Any], ids: dict[str, list[str]]) -> dict[str, Any]:
    props: dict[str, Any] = schema["properties"]
    required = set(schema["required"])
    args = {name: draw(_value(s, ids)) for name, s in props.items() if name in required or draw(st.booleans())}
    mutation = draw(st.sampled_from(["none", "none", "wrong_value", "drop_required", "extra"]))
    if mutation == "wrong_value" and props:
        args[draw(st.sampled_from(sorted(props)))] = draw(JSON)
    elif mutation == "drop_required" and required:
        args.pop(draw(st.sampled_from(sorted(required))), None)
    elif mutation == "extra":
        args[draw(st.text(min_size=1, max_size=10))] = draw(JSON)
    return args


@pytest.fixture(scope="module")
def runtimes() -> dict[str, ClusterRuntime]:
    catalog, templates = Catalog.load(), Templates()
    return {n: ClusterRuntime(domain_cluster(catalog.get(n)), catalog, templates=templates, rows=20) for n in DOMAINS}


def _quantity_total(rt: ClusterRuntime, tool: ClusterTool) -> Decimal:
    """The sum of what a transfer tool moves over all records: what it must conserve."""
    field = CATALOG.get(tool.domain).operation(tool.operation).quantity_field
    assert field is not None
    return sum((Decimal(str(r[field] or 0)) for r in rt.store.rows(f"{tool.domain}__{tool.entity}")), Decimal(0))


@pytest.mark.parametrize("name", DOMAINS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
async def test_fuzzed_arguments_always_get_a_result_and_a_failed_call_changes_nothing(
        name: str, runtimes: dict[str, ClusterRuntime], data: st.DataObject) -> None:
    rt = runtimes[name]
    tool = data.draw(st.sampled_from(rt.cluster.tools), label="tool")
    ids: dict[str, list[str]] = {}
    for table in rt.store.tables:
        for r in rt.store.rows(table)[:10]:
            ids.setdefault(r["id"].split("-")[0], []).append(r["id"])
    args = data.draw(_arguments(tool.input_schema, ids), label="arguments")
    before = rt.store.state_hash()
    total = _quantity_total(rt, tool) if tool.kind == "transfer" else None
    if data.draw(st.booleans(), label="straight to the runtime"):
        r = rt.call(tool.name, args)
        listing = next(t for t in rt.tools() if t.name == tool.name)
        if not r.is_error:
            jsonschema.validate(r.structured_content, listing.output_schema or {})
    else:
        async with Client(rt.server) as c:
            r = await c.call_tool(tool.name, args)  # raises if structured content does not fit the output schema
    text = r.content[0].text  # type: ignore[union-attr]
    assert "Internal error" not in text
    if total is not None:  # a transfer moves an amount; it never makes or loses any
        assert _quantity_total(rt, tool) == total, (tool.name, args, text)
    if r.is_error:
        assert rt.store.state_hash() == before, text
    else:
        assert r.structured_content is not None
