"""Commands of tdscaling.client for the ``tdscaling`` CLI: ``episode run`` and ``episode verify``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ._errors import ModelAuthError
    from ._trajectory import Trajectory
    from ._verify import Judgement

CatalogOpt = Annotated[list[Path] | None, typer.Option("--catalog", help="Extra domain directories.")]
ClustersOpt = Annotated[Path | None, typer.Option("--clusters", help="A clusters JSON Lines file (for cl-... ids).")]


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)


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
    import anyio

    from tdscaling.servers import Catalog, SpecError

    from ._errors import ModelAuthError
    from ._harness import Harness, load_blueprint
    from ._user import LLMUser

    try:
        cat = Catalog.load(catalog or ())
        bp = load_blueprint(blueprint)
        harness = Harness(cat, clusters_file=clusters)
        harness.runtime(bp)
    except SpecError as e:
        _fail(str(e))
    assistant: Any = None
    user: Any = None
    if model or user_model:
        from ._litellm import LiteLLMBackend

        if model:
            assistant = LiteLLMBackend(model, api_base=api_base, api_key=api_key)
        if user_model:
            user = LLMUser(bp, LiteLLMBackend(user_model, api_base=api_base, api_key=api_key))
    try:
        t = anyio.run(lambda: harness.run(bp, assistant=assistant, user=user, seed=seed))
    except ModelAuthError as e:
        _fail(auth_failure_line(e))
        return
    if as_json:
        print(t.model_dump_json())
    else:
        _render(t)


def _show_judgement(j: Judgement, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"verdict": j.verdict, "reasons": j.reasons, "details": j.details}, default=str))
        return
    from rich.console import Console

    from ._trajectory import REASON_CODES

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
    import anyio

    from tdscaling.servers import Catalog, SpecError

    from ._harness import verify_trajectory

    try:
        cat = Catalog.load(catalog or ())
        j = anyio.run(lambda: verify_trajectory(blueprint, trajectory, catalog=cat, clusters_file=clusters))
    except SpecError as e:
        _fail(str(e))
    _show_judgement(j, as_json)


def register(app: typer.Typer) -> None:
    """Add ``episode run`` and ``episode verify`` to ``app``."""
    episode = typer.Typer(help="Run or verify one episode of a blueprint.", no_args_is_help=True)
    episode.command("run")(episode_run)
    episode.command("verify")(episode_verify)
    app.add_typer(episode, name="episode")
