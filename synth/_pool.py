"""What a run starts from and what makes it repeatable: the initial cluster pool, and the seeded random
generators of its rounds and tasks (so the same run plans the same blueprints and names the same episodes)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

from tdscaling.servers import Catalog, ClusterGenerator, ClusterSpec, SpecError, read_clusters

from ._run_config import RunConfig


def initial_pool(config: RunConfig, catalog: Catalog, domains: Sequence[str]) -> list[ClusterSpec]:
    """The clusters of ``config.clusters_file``, else ``pool_size`` generated ones (4 per task of a round, at
    most 400), mostly from ``pool_skew``'s domains when it is set."""
    if config.clusters_file:
        given = list(read_clusters(Path(config.clusters_file)))
        if not given:
            raise SpecError("holds no clusters", source=config.clusters_file)
        return given
    size = config.pool_size or min(400, 4 * config.per_round)
    chosen = catalog.select(list(domains))
    if config.pool_skew:
        heavy = catalog.select(config.pool_skew)
        gen_heavy = ClusterGenerator(heavy, seed=config.seed, cross_domain_share=0.0)
        gen_all = ClusterGenerator(chosen, seed=config.seed + 1)
        pool: list[ClusterSpec] = []
        for c in gen_heavy:
            pool.append(c)
            if len(pool) >= int(size * 0.85):
                break
        for c in gen_all:
            if len(pool) >= size:
                break
            pool.append(c)
        return pool
    gen = ClusterGenerator(chosen, seed=config.seed)
    out = []
    for c in gen:
        out.append(c)
        if len(out) >= size:
            break
    return out


def task_rng(seed: int, rnd: int, slot: int) -> random.Random:
    """The generator of one task (planning and its retries draw from it)."""
    return random.Random(int.from_bytes(hashlib.blake2b(f"{seed}:{rnd}:{slot}".encode(), digest_size=8).digest(),
                                        "big"))


def round_rng(seed: int, rnd: int) -> random.Random:
    """The generator of a round's task mix."""
    return task_rng(seed, rnd, -1)


def task_key(rnd: int, slot: int) -> str:
    """A task's name in the run's rows: ``r001-0007``."""
    return f"r{rnd:03d}-{slot:04d}"
