"""A ``claude_desktop_config.json`` that serves clusters over stdio (``tdscaling claude-config``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._catalog import Catalog
from ._resolve import load_cluster
from ._serve import default_db_name, server_name


def claude_desktop_config(clusters: Sequence[str], *, command: Sequence[str], db_dir: Path,
                          seed: int | None = None, clusters_file: Path | None = None,
                          catalog_dirs: Sequence[Path] = ()) -> dict[str, Any]:
    """The ``mcpServers`` config an MCP host such as Claude Desktop needs to serve each of ``clusters``.

    ``command`` is how the host starts ``tdscaling`` (an absolute path, or an interpreter and
    ``-m tdscaling.synth``); each server keeps its world in ``db_dir``. Every path in the result is absolute.
    An unknown or malformed cluster raises ``SpecError`` before anything is returned.

    Example::

        from pathlib import Path
        from tdscaling.servers import claude_desktop_config

        config = claude_desktop_config(["online_store", "clinic"], command=["/abs/.venv/bin/tdscaling"],
                                       db_dir=Path("/abs/data"))
        assert set(config["mcpServers"]) == {"tdscaling-online_store", "tdscaling-clinic"}
    """
    catalog = Catalog.load(catalog_dirs)
    where = db_dir.expanduser().resolve()
    executable, *prefix = command
    servers: dict[str, dict[str, object]] = {}
    for ref in clusters:
        spec = load_cluster(ref, catalog, clusters_file=clusters_file)
        world_seed = spec.seed_recipe.seed if seed is None else seed
        target = str(Path(ref).resolve()) if ref.endswith(".json") or Path(ref).is_file() else ref
        args = [*prefix, "serve", target, "--db", str(where / default_db_name(spec, world_seed))]
        if seed is not None:
            args += ["--seed", str(seed)]
        if clusters_file is not None:
            args += ["--clusters", str(clusters_file.resolve())]
        for d in catalog_dirs:
            args += ["--catalog", str(d.resolve())]
        servers[f"tdscaling-{server_name(spec)}"] = {"command": executable, "args": args}
    return {"mcpServers": servers}
