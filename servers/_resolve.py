"""Find the cluster a user names: a built-in domain, a cluster id in a clusters file, or a ClusterSpec file."""

from __future__ import annotations

from pathlib import Path

from ._build import cluster_problems, domain_cluster
from ._catalog import Catalog
from ._cluster_io import find_cluster, load_cluster_file
from ._cluster_spec import ClusterSpec
from ._errors import SpecError, UnknownNameError


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
        return _checked(find_cluster(clusters_file, ref), catalog, source=clusters_file.name)
    path = Path(ref)
    if ref.endswith(".json") or path.is_file():
        return _checked(load_cluster_file(path), catalog, source=path.name)
    if ref in catalog:
        return domain_cluster(catalog.get(ref))
    raise UnknownNameError(f"unknown cluster '{ref}': not a domain name, a cluster id (pass --clusters FILE) "
                           f"or a ClusterSpec .json file; known domains are {', '.join(catalog.names())}")


def _checked(cluster: ClusterSpec, catalog: Catalog, *, source: str) -> ClusterSpec:
    """A cluster read from a file is served only when it is a valid cluster of this catalog."""
    found = cluster_problems(cluster, {d.name: d for d in catalog})
    if found:
        raise SpecError(found[0], source=f"{source}: cluster {cluster.id}")
    return cluster
