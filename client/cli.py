"""Commands of tdscaling.client for the ``tdscaling`` CLI: ``episode run`` and ``episode verify``.

Each parses its flags, calls one public function (``run_episode``, ``verify``) and shows the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tdscaling.common import add_commands, fail, usage_errors

if TYPE_CHECKING:
    from ._errors import ModelAuthError
    from ._trajectory import Trajectory
    from ._verdict import Judgement

CatalogOpt = Annotated[list[Path] | None, typer.Option("--catalog", help="Extra domain directories.")]
ClustersOpt = Annotated[Path | None, typer.Option("--clusters", help="A clusters JSON Lines file (for cl-... ids).")]


ApiKeyOpt = Annotated[str | None, typer.Option(
    "--api-key", help="The model provider's API key (default: litellm reads the provider's variable, such as "
    "OPENAI_API_KEY). A local server that checks no key takes any value.", show_default=False)]


def auth_failure_line(error: ModelAuthError) -> str:
    """One line for a command line: what the provider said, and which flag or variable to set."""
    said = " ".join(str(error).split())
    where = " or set " + " / ".join(error.env_vars) if error.env_vars else ""
    return (f"{said}. Pass --api-key KEY{where} (a local server that checks no key takes any value, "
            "e.g. --api-key none)")


def _render(t: Trajectory) -> None:
    from rich.console import Console
    from rich.panel import Panel

    con = Console()
    style = {"system": "dim", "user": "cyan", "assistant": "green", "tool": "yellow"}
    for m in t.messages:
        role = m["role"]
        body = str(m.get("content") or "")
        if role == "system":
            body = body[:300] + ("…" if len(body) > 300 else "")
        if role == "tool":
            body = body[:600] + ("…" if len(body) > 600 else "")
        for tc in m.get("tool_calls") or []:
            body += f"\n→ {tc['function']['name']}({tc['function']['arguments'][:400]})"
        con.print(Panel(body.strip() or "(empty)", title=role, title_align="left", border_style=style.get(role, "")))
    colour = "green" if t.verdict == "accepted" else "red"
    con.print(f"[bold {colour}]{t.verdict}[/]" + (f"  reasons: {', '.join(t.reasons)}" if t.reasons else "")
              + f"  tool path: {' → '.join(t.labels.tool_path)}")
    if t.details.get("state_diff"):
        con.print(f"state diff: {json.dumps(t.details['state_diff'])[:1000]}")


def episode_run(
    blueprint: Annotated[Path, typer.Option("--blueprint", help="A blueprint JSON file.")],
    model: Annotated[str | None, typer.Option("--model", help="A litellm model for the assistant "
                                              "(default: the offline scripted assistant).")] = None,
    user_model: Annotated[str | None, typer.Option("--user-model", help="A litellm model for the user "
                                                   "(default: the scripted user).")] = None,
    api_base: Annotated[str | None, typer.Option("--api-base", help="An OpenAI-compatible endpoint.")] = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trajectory as one JSON object.")] = False,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    catalog: CatalogOpt = None,
    clusters: ClustersOpt = None,
) -> None:
    """Run one episode of a blueprint and show the conversation, the tool calls and the verdict."""
    from tdscaling.servers import Catalog

    from ._errors import ModelAuthError
    from ._tasks import run_episode

    try:
        with usage_errors():
            t = run_episode(blueprint, model=model or "scripted", user_model=user_model or "scripted",
                            api_base=api_base, api_key=api_key, catalog=Catalog.load(catalog or ()),
                            clusters_file=clusters, seed=seed)
    except ModelAuthError as e:
        fail(auth_failure_line(e))
    if as_json:
        print(t.model_dump_json())
    else:
        _render(t)


def _show_judgement(j: Judgement, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"verdict": j.verdict, "reasons": j.reasons, "details": j.details}, default=str))
        return
    from rich.console import Console

    from ._verdict import REASON_CODES

    con = Console()
    colour = "green" if j.verdict == "accepted" else "red"
    con.print(f"[bold {colour}]{j.verdict}[/]")
    for r in j.reasons:
        con.print(f"  {r}: {REASON_CODES.get(r, '')}")
    for k, v in j.details.items():
        con.print(f"  {k}: {json.dumps(v, default=str)[:800]}")


def episode_verify(
    blueprint: Annotated[Path, typer.Option("--blueprint", help="The blueprint the trajectory claims to follow.")],
    trajectory: Annotated[Path, typer.Option("--trajectory", help="A trajectory JSON (with 'messages').")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    catalog: CatalogOpt = None,
    clusters: ClustersOpt = None,
) -> None:
    """Judge a trajectory made anywhere by replaying its tool calls on a fresh copy of the world."""
    from tdscaling.servers import Catalog

    from ._tasks import verify

    with usage_errors():
        j = verify(blueprint, trajectory, catalog=Catalog.load(catalog or ()), clusters_file=clusters)
    _show_judgement(j, as_json)


def register(app: typer.Typer) -> None:
    """Add ``episode run`` and ``episode verify`` to ``app``."""
    add_commands(app, {"run": episode_run, "verify": episode_verify}, group="episode",
                 help="Run or verify one episode of a blueprint.")
