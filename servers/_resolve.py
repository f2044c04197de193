"""Find the cluster a user names: a built-in domain, a cluster id in a clusters file, or a ClusterSpec file."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ._build import domain_cluster
from ._catalog import Catalog
from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such {what} file", source=str(path)) from None
    except OSError as e:
        raise SpecError(f"cannot read the {what} file: {e.strerror}", source=str(path)) from None


def _parse(text: str, *, source: str) -> ClusterSpec:
    try:
        return ClusterSpec.model_validate_json(text)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise SpecError(f"not a ClusterSpec: {err['msg']}", source=source, path=where) from None


def load_cluster(ref: str, catalog: Catalog, *, clusters_file: Path | None = None) -> ClusterSpec:
    """The cluster ``ref`` names.

    ``ref`` is a cluster id in ``clusters_file`` (JSON Lines of ClusterSpec) when one is given, else a path
    to a ClusterSpec JSON file (anything ending in ``.json`` or naming an existing file), else a built-in
    or ``--catalog`` domain name (the whole domain as one cluster).

    Raises:
        SpecError: the file is missing or malformed; ``UnknownNameError`` when nothing has that name.
    """
    if clusters_file is not None:
        ids: list[str] = []
        for n, line in enumerate(_read(clusters_file, "clusters").splitlines(), 1):
            if not line.strip():
                continue
            try:
                cid = json.loads(line).get("id")
            except (json.JSONDecodeError, AttributeError):
                raise SpecError("not a JSON object", source=str(clusters_file), path=f"line {n}") from None
            if cid == ref:
                return _parse(line, source=f"{clusters_file}:{n}")
            ids.append(str(cid))
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise UnknownNameError(f"no cluster with id '{ref}' in {clusters_file}; it holds {shown or 'none'}")
    path = Path(ref)
    if ref.endswith(".json") or path.is_file():
        return _parse(_read(path, "cluster"), source=str(path))
    if ref in catalog:
        return domain_cluster(catalog.get(ref))
    raise UnknownNameError(f"unknown cluster '{ref}': not a domain name, a cluster id (pass --clusters FILE) "
                           f"or a ClusterSpec .json file; known domains are {', '.join(catalog.names())}")
