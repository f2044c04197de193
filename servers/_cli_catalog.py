"""``tdscaling domains list|show`` and ``tdscaling clusters generate|show|stats``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tdscaling.common import fail, usage_errors

from ._catalog import Catalog

CatalogOpt = Annotated[
    list[Path] | None,
    typer.Option("--catalog", help="A directory of domain JSON files to add to the built-in catalog (repeatable)."),
]


def _catalog(dirs: list[Path] | None) -> Catalog:
    with usage_errors():
        return Catalog.load(dirs or ())


def domains_list(catalog: CatalogOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the domains of the catalog."""
    cat = _catalog(catalog)
    rows = [{"name": d.name, "title": d.title, "category": d.category, "entities": len(d.entities),
             "operations": len(d.operations), "description": d.description} for d in cat]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} domains")
    for col in ("name", "category", "entities", "operations", "description"):
        table.add_column(col, overflow="fold")
    for d in cat:
        table.add_row(d.name, d.category, str(len(d.entities)), str(len(d.operations)), d.description)
    Console().print(table)


def domains_show(name: Annotated[str, typer.Argument(help="A domain name (see `tdscaling domains list`).")],
                 catalog: CatalogOpt = None) -> None:
    """Show a domain: its entities, state machines, operations, and its dependency graph as text."""
    from tdscaling.servers import branch_points, domain_graph, entry_tools, tool_spec

    cat = _catalog(catalog)
    with usage_errors():
        d = cat.get(name)
    con = Console()
    con.print(f"[bold]{d.title}[/bold] ({d.name}, {d.category})\n{d.description}\n")
    for ename, e in d.entities.items():
        con.print(f"[bold]entity {ename}[/bold] ({e.id_prefix}-000123): {e.description}"
                  + (f"  [concept {e.concept} by {e.join_key}]" if e.concept else ""))
        for fname, f in e.fields.items():
            extra = f" -> {f.ref}" if f.ref else (f" {f.values}" if f.values else "")
            con.print(f"  {fname}: {f.type}{extra}{'' if f.required else ' (optional)'}")
        if e.state_machine:
            sm = e.state_machine
            con.print(f"  lifecycle of {sm.field}: starts {sm.initial}; "
                      + "; ".join(f"{t.name}: {'|'.join(t.source)} -> {t.target}" for t in sm.transitions))
    relations = d.relations()
    if relations:
        con.print("\n[bold]relations[/bold] (many-to-one)")
        for r in relations:
            con.print(f"  {r.source}.{r.field} -> {r.target}")
    con.print("\n[bold]operations[/bold]")
    for op in d.operations:
        t = tool_spec(d, op)
        args = ", ".join(p.name + ("" if p.required else "?") for p in t.inputs)
        rules = "; ".join(p.kind for p in op.preconditions)
        con.print(f"  {op.name}({args})  [{op.kind} {op.entity}]" + (f"  rules: {rules}" if rules else ""))
    g = domain_graph(d)
    con.print(f"\n[bold]dependency graph[/bold]: {g.number_of_nodes()} tools, {g.number_of_edges()} edges")
    con.print(f"  entry tools: {', '.join(entry_tools(g))}")
    for n in sorted(g.nodes):
        strong = [f"{m} ({g.edges[n, m]['detail']})" for m in sorted(g.successors(n))
                  if g.edges[n, m]["reason"] != "informs"]
        if strong:
            con.print(f"  {n} -> " + ", ".join(strong))
    for n, alts in branch_points(g):
        con.print(f"  branch after {n}: {' | '.join(alts)}")


def clusters_generate(
    n: Annotated[int, typer.Option("-n", min=1, help="How many distinct clusters to write.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The JSON Lines file to write.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same catalog: byte-identical output.")] = 0,
    domains: Annotated[str | None, typer.Option("--domains", help="Comma-separated domain names to use.")] = None,
    catalog: CatalogOpt = None,
    cross_share: Annotated[float, typer.Option("--cross-share", min=0.0, max=1.0,
                                               help="Share of attempts that join two domains.")] = 0.3,
    max_size: Annotated[int, typer.Option("--max-size", min=3, help="Largest slice grown per domain.")] = 9,
) -> None:
    """Generate distinct Business Clusters as JSON Lines (one ClusterSpec per line)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tdscaling.servers import generate_clusters, write_clusters

    cat = _catalog(catalog)
    names = [s.strip() for s in domains.split(",") if s.strip()] if domains else None
    if names == []:
        fail("--domains named no domain; give a comma-separated list such as online_store,clinic")
    err = Console(stderr=True)
    with usage_errors(), Progress(TextColumn("clusters"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=err, disable=not sys.stderr.isatty(), transient=True) as progress:
        gen = generate_clusters(cat, n, seed=seed, domains=names, cross_domain_share=cross_share, max_size=max_size)
        written = write_clusters(output, progress.track(gen, total=n, description="generate"))
    s = gen.stats
    if s.exhausted:
        err.print(f"[yellow]the catalog gave only {written} distinct clusters[/yellow] (no new signature in "
                  f"the last {gen.patience} attempts); wrote {written} of the {n} asked for to {output}")
    else:
        err.print(f"wrote {written} clusters to {output} ({s.attempts} attempts, {s.duplicates} duplicates dropped)")


def clusters_show(cluster_id: Annotated[str, typer.Argument(help="A cluster id (or an unambiguous prefix).")],
                  file: Annotated[Path, typer.Option("--file", help="The clusters JSON Lines file.")],
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one cluster: its tools, its dependency edges, its policies and seed recipe."""
    from tdscaling.servers import find_cluster

    with usage_errors():
        c = find_cluster(file, cluster_id)
    if as_json:
        print(c.model_dump_json(indent=2))
        return
    con = Console()
    con.print(f"[bold]{c.id}[/bold]  signature {c.signature}  domains {', '.join(c.domains)}  origin {c.origin}")
    table = Table("tool", "kind", "entity", "domain")
    for t in c.tools:
        table.add_row(t.name, t.kind, t.entity, t.domain)
    con.print(table)
    for e in c.edges:
        con.print(f"  {e.source} -> {e.target}  [{e.reason}: {e.detail}]")
    for p in c.policies:
        con.print(f"  policy on {p.tool}: {p.precondition.model_dump(exclude_none=True)}")
    con.print(f"  seed {c.seed_recipe.seed}; rows {c.seed_recipe.rows}"
              + (f"; joins {[j.model_dump() for j in c.seed_recipe.joins]}" if c.seed_recipe.joins else ""))


def clusters_stats(file: Annotated[Path, typer.Argument(help="A clusters JSON Lines file.")],
                   as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Count, distinct signatures, per-domain counts, size histogram and cross-domain share of a file."""
    from tdscaling.servers import cluster_stats

    with usage_errors():
        stats = cluster_stats(file)
    if as_json:
        print(stats.model_dump_json(indent=2))
        return
    con = Console()
    con.print(f"{stats.count} clusters, {stats.distinct_signatures} distinct signatures, "
              f"{stats.cross_domain_share:.1%} cross-domain, {stats.with_policies} with policies")
    sizes = Table("tools", "clusters", title="size histogram")
    for size, count in stats.size_histogram.items():
        sizes.add_row(str(size), str(count))
    doms = Table("domain", "clusters", title="per domain")
    for name, count in stats.per_domain.items():
        doms.add_row(name, str(count))
    con.print(sizes)
    con.print(doms)
