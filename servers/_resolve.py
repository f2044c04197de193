"""Find the cluster a user names: a built-in domain, a cluster id in a clusters file, or a ClusterSpec file."""

from __future__ import annotations

from pathlib import Path

from ._build import domain_cluster
from ._catalog import Catalog
from ._cluster_io import find_cluster
from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError
from ._json_files import load_model


def load_cluster(ref: str, catalog: Catalog, *, clusters_file: Path | None = None) -> ClusterSpec:
    """The cluster ``ref`` names.

    ``ref`` is a cluster id in ``clusters_file`` (JSON Lines of ClusterSpec) when one is given, else a path
    to a ClusterSpec JSON file (anything ending in ``.json`` or naming an existing file), else a built-in
    or ``--catalog`` domain name (the whole domain as one cluster).

    Raises:
        SpecError: the file is missing or malformed; ``UnknownNameError`` when nothing has that name.
    """
    if clusters_file is not None:
        if not clusters_file.is_file():
            raise SpecError("no such clusters file", source=str(clusters_file))
        return find_cluster(clusters_file, ref)
    path = Path(ref)
    if ref.endswith(".json") or path.is_file():
        return load_model(ClusterSpec, path, what="cluster", hint="not a ClusterSpec")
    if ref in catalog:
        return domain_cluster(catalog.get(ref))
    raise UnknownNameError(f"unknown cluster '{ref}': not a domain name, a cluster id (pass --clusters FILE) "
                           f"or a ClusterSpec .json file; known domains are {', '.join(catalog.names())}")
