"""Compile a ClusterSpec into what a server serves: bound tools, MCP tool listings, validators, texts.

Everything here is computed once per cluster and shared by every runtime (episode) that serves it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema
import mcp_types as types

from ._build import spec_problems
from ._call import BoundTool, World
from ._catalog import Catalog
from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError
from ._outputs import output_schema
from ._rules import describe_failures
from ._seed import ANCHOR
from ._spec import DomainSpec
from ._tools import DATE_PATTERN, ToolSpec, tool_spec


@dataclass(frozen=True)
class CompiledTool:
    bound: BoundTool
    schema: dict[str, Any]
    validator: jsonschema.Draft202012Validator
    listing: types.Tool


@dataclass(frozen=True)
class Compiled:
    cluster: ClusterSpec
    name: str
    title: str
    domains: Mapping[str, DomainSpec]
    tools: Mapping[str, CompiledTool]
    world: World
    instructions: str
    spec_json: str
    graph_json: str


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _failure_text(b: BoundTool) -> str:
    lines: list[str] = []
    spec = b.spec
    if any(p.role == "id" for p in spec.inputs) or spec.kind == "transfer":
        lines.append("an id does not exist (it says which)")
    if any(p.type == "ref" and p.role == "field" for p in spec.inputs):
        lines.append("a referenced id does not exist")
    guarded = {pre.field for pre in b.preconditions if pre.kind == "unique"}
    if any(b.entity.fields[p.field].unique and p.field not in guarded for p in spec.inputs
           if p.role == "field" and p.field):
        lines.append("a unique value is already taken")

    def ref_of(name: str) -> str | None:
        p = spec.param(name)
        return p.ref if p is not None else None

    lines += describe_failures(b.preconditions, ref_of)
    if not lines:
        return ""
    return " Fails, changing nothing, when " + "; ".join(lines) + "."


def _description(b: BoundTool) -> str:
    return b.spec.description.rstrip() + _failure_text(b)


def _instructions(cluster: ClusterSpec, domains: Mapping[str, DomainSpec], tools: Mapping[str, CompiledTool]) -> str:
    parts = [f"{d.title}: {d.description}" for d in domains.values()]
    entities = sorted({(t.bound.domain.name, t.bound.spec.entity) for t in tools.values()})
    ids = ", ".join(f"{e.replace('_', ' ')} {domains[d].entities[e].id_prefix}-000123" for d, e in entities)
    parts.append(
        "This is a stateful service: every change you make is kept and later calls see it. "
        f"Records have ids such as {ids}. When you only know a name, e-mail or other detail, use a search "
        "tool first to find the id; get tools return one record by id. Errors say what was wrong and what "
        f"would be valid, so read them and adjust. Today's date in this service is {ANCHOR.isoformat()}.")
    return "\n\n".join(parts)


def _graph_json(cluster: ClusterSpec) -> str:
    return json.dumps({
        "nodes": [{"id": t.name, "kind": t.kind, "domain": t.domain, "entity": t.entity} for t in cluster.tools],
        "edges": [e.model_dump(mode="json") for e in cluster.edges],
    }, indent=2)


def compile_cluster(cluster: ClusterSpec, catalog: Catalog) -> Compiled:
    """Bind every tool of ``cluster`` to its domain operation.

    Raises:
        SpecError: an operation does not exist, or the cluster does not fit the catalog (``spec_problems``).
    """
    try:
        domains = {d: catalog.get(d) for d in cluster.domains}
    except UnknownNameError as e:
        raise SpecError(str(e), source=f"cluster {cluster.id}") from None
    policies: dict[str, list[Any]] = {}
    for p in cluster.policies:
        policies.setdefault(p.tool, []).append(p.precondition)
    bound: dict[str, BoundTool] = {}
    for t in cluster.tools:
        if t.domain not in domains:
            raise SpecError(f"tool {t.name} names domain '{t.domain}', which the cluster does not list",
                            source=f"cluster {cluster.id}")
        domain = domains[t.domain]
        try:
            op = domain.operation(t.operation)
        except KeyError:
            raise SpecError(f"tool {t.name}: domain {t.domain} has no operation '{t.operation}'",
                            source=f"cluster {cluster.id}") from None
        spec = tool_spec(domain, op)
        bound[t.name] = BoundTool(t.name, spec, domain, (*spec.preconditions, *policies.get(t.name, ())))
    problems = spec_problems(cluster, domains)
    if problems:
        raise SpecError(problems[0], source=f"cluster {cluster.id}")
    search = {(b.domain.name, b.spec.entity): n for n, b in sorted(bound.items(), reverse=True)
              if b.spec.kind == "search"}
    moves: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for n, b in sorted(bound.items()):
        if b.spec.kind == "transition":
            moves.setdefault((b.domain.name, b.spec.entity), []).append((n, b.spec.source_states))
    world = World(domains, search, {k: tuple(v) for k, v in moves.items()})
    tools: dict[str, CompiledTool] = {}
    for t in cluster.tools:
        b = bound[t.name]
        schema = t.input_schema
        listing = types.Tool(
            name=t.name, title=_humanize(t.name), description=_description(b), input_schema=schema,
            output_schema=output_schema(b.spec, b.entity),
            annotations=types.ToolAnnotations(
                title=_humanize(t.name), read_only_hint=b.spec.read_only, destructive_hint=b.spec.destructive,
                idempotent_hint=b.spec.idempotent, open_world_hint=False),
        )
        tools[t.name] = CompiledTool(b, schema, jsonschema.Draft202012Validator(schema), listing)
    titles = [d.title for d in domains.values()]
    name = cluster.domains[0] if cluster.origin == "domain" else cluster.id
    return Compiled(cluster=cluster, name=name, title=" + ".join(titles), domains=domains, tools=tools,
                    world=world, instructions=_instructions(cluster, domains, tools),
                    spec_json=cluster.model_dump_json(indent=2), graph_json=_graph_json(cluster))


# --- argument errors an agent can act on --------------------------------------------------------------
MAX_MAGNITUDE = 10**12  # beyond this a number is a mistake, and would overflow SQLite's integers as cents
def _short(v: Any) -> str:
    if isinstance(v, str) and len(v) > 60:
        return f"a string of {len(v)} characters"
    if isinstance(v, dict | list):
        return f"a JSON {'object' if isinstance(v, dict) else 'array'}"
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed(s: Mapping[str, Any]) -> str:
    if "enum" in s:
        return "one of " + ", ".join(json.dumps(v) for v in s["enum"])
    pattern = s.get("pattern", "")
    if pattern == DATE_PATTERN:
        return "a date such as 2026-06-01"
    if pattern.startswith("^\\d{4}"):
        return "a date and time such as 2026-06-01T09:30:00"
    m = re.match(r"^\^([A-Z]+)-", pattern)
    if m:
        return f"an id such as {m.group(1)}-000123"
    ty = s.get("type")
    if ty in ("integer", "number"):
        lo = s.get("minimum", s.get("exclusiveMinimum"))
        hi = s.get("maximum")
        word = "an integer" if ty == "integer" else "a number"
        if "exclusiveMinimum" in s:
            return f"{word} greater than {lo}" + (f" and at most {hi}" if hi is not None else "")
        if lo is not None and hi is not None:
            return f"{word} from {lo} to {hi}"
        if lo is not None:
            return f"{word} of at least {lo}"
        return f"{word} of at most {hi}" if hi is not None else word
    if ty == "string":
        return f"a non-empty string of at most {s.get('maxLength', 'any')} characters"
    return f"a {ty}" if ty else "a valid value"


def argument_errors(tool: CompiledTool, args: Mapping[str, Any]) -> list[str]:
    """Why ``args`` do not fit the tool's input schema, one sentence per argument; empty when they do."""
    props: Mapping[str, Any] = tool.schema.get("properties", {})
    out: list[str] = []
    seen: set[str] = set()
    for e in tool.validator.iter_errors(args):
        if e.validator == "required":
            missing = [r for r in e.validator_value if r not in args and r not in seen]
            for r in missing:
                seen.add(r)
                out.append(f"Missing required argument '{r}' ({_allowed(props.get(r, {}))}).")
        elif e.validator == "additionalProperties":
            for k in sorted(set(args) - set(props) - seen):
                seen.add(k)
                shown = printable(k if len(k) <= 40 else k[:37] + "...")
                out.append(f"Unknown argument '{shown}'; this tool takes {', '.join(props) or 'no arguments'}.")
        elif e.path:
            name = str(e.path[0])
            if name not in seen:
                seen.add(name)
                out.append(f"Argument '{name}' is {_short(e.instance)}; it must be {_allowed(props.get(name, {}))}.")
        else:
            out.append("The arguments must be a JSON object.")
    if isinstance(args, Mapping):
        out += _number_errors(tool.bound.spec, args, seen)
        out += _text_errors(args, seen)
    return out


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX``: caller text echoed in a reply must stay encodable."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in ``value`` (strings, and the keys and items of objects and arrays), if any."""
    if isinstance(value, str):
        found = _LONE_SURROGATE.search(value)
        return found.group() if found else None
    if isinstance(value, Mapping):
        return next((s for k, v in value.items() if (s := _lone_surrogate(k) or _lone_surrogate(v))), None)
    if isinstance(value, list):
        return next((s for v in value if (s := _lone_surrogate(v))), None)
    return None


def _text_errors(args: Mapping[str, Any], seen: set[str]) -> list[str]:
    """Text that is not Unicode: a lone UTF-16 surrogate (JSON can spell one, ``"\\ud800"``; SQLite cannot
    store it) is the caller's mistake, named like any other."""
    out = []
    for name, value in args.items():
        if name not in seen and (char := _lone_surrogate(value)) is not None:
            seen.add(name)
            out.append(f"Argument '{printable(name)}' holds a lone surrogate (\\u{ord(char):04x}), which is not "
                       "text; send valid Unicode (a surrogate only appears as half of a pair).")
    return out


def _number_errors(spec: ToolSpec, args: Mapping[str, Any], seen: set[str]) -> list[str]:
    """What a JSON Schema cannot say about numbers: they are finite, of a size SQLite stores exactly
    (at most ``MAX_MAGNITUDE``), and money is whole cents."""
    out: list[str] = []
    for p in spec.inputs:
        v = args.get(p.name)
        if p.name in seen or isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if not math.isfinite(v):
            out.append(f"Argument '{p.name}' is {_short(v)}; it must be a finite number.")
        elif abs(v) > MAX_MAGNITUDE:
            out.append(f"Argument '{p.name}' is {_short(v)}; numbers here must lie between -{MAX_MAGNITUDE:.0e} "
                       f"and {MAX_MAGNITUDE:.0e}.")
        elif p.type == "money" and int(Decimal(str(v)).as_tuple().exponent) < -2:
            out.append(f"Argument '{p.name}' is {_short(v)}; money takes at most 2 decimals (cents).")
    return out
