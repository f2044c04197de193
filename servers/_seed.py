"""Deterministic seeding: the same (cluster, seed, rows) always gives the same world.

Values come from one Faker instance re-seeded per entity (so adding an entity does not shift another
entity's values) and honour each field's ``faker``, ``choices``, enum ``values``, ``min``/``max`` and
``unique``. Ids are known before any value is drawn, so every reference points at an existing row.
State fields are spread over all states, so every transition has records to act on. The world has a
fixed clock: dates are days relative to ``ANCHOR``, never to today.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from ._cluster_spec import ClusterSpec, Join
from ._errors import SpecError
from ._spec import DEFAULT_ROWS, DomainSpec, EntitySpec, FieldSpec
from ._store import Snapshot, Store, Table, table_name

if TYPE_CHECKING:
    from faker import Faker

ANCHOR = date(2026, 6, 1)  # "today" in every seeded world
OPTIONAL_FILL = 0.8  # share of rows that get a value in an optional field
EntityKey = tuple[str, str]  # (domain, entity)

_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "email"), ("first_name", "first_name"), ("last_name", "last_name"), ("phone", "phone_number"),
    ("city", "city"), ("country", "country"), ("address", "street_address"), ("company", "company"),
    ("name", "name"), ("title", "catch_phrase"), ("url", "url"), ("description", "sentence"),
    ("note", "sentence"), ("reason", "sentence"),
)


def cluster_tables(domains: Mapping[str, DomainSpec]) -> list[Table]:
    """A table for every entity of every domain (entities a cluster does not seed stay empty)."""
    return [Table(table_name(d.name, ename), {f: spec.type for f, spec in e.fields.items()})
            for d in domains.values() for ename, e in d.entities.items()]


def row_counts(cluster: ClusterSpec, domains: Mapping[str, DomainSpec],
               rows: int | None = None) -> dict[EntityKey, int]:
    """Rows per entity: the seed recipe's (or ``rows``), plus every entity those reference."""
    counts: dict[EntityKey, int] = {}
    for key, n in cluster.seed_recipe.rows.items():
        d, _, e = key.partition(".")
        if d not in domains or e not in domains[d].entities:
            raise SpecError(f"the seed recipe names unknown entity '{key}'", source=f"cluster {cluster.id}")
        counts[(d, e)] = rows or n
    todo = list(counts)
    while todo:
        d, e = todo.pop()
        for f in domains[d].entities[e].fields.values():
            if f.ref and (d, f.ref) not in counts:
                counts[(d, f.ref)] = rows or domains[d].entities[f.ref].rows or DEFAULT_ROWS
                todo.append((d, f.ref))
    return {k: min(n, _unique_cap(domains[k[0]].entities[k[1]])) for k, n in counts.items()}


def _unique_cap(e: EntitySpec) -> int:
    """An entity with a unique field drawn from a fixed list has at most that many rows (15 airports)."""
    caps = [len(f.choices or f.values or []) for f in e.fields.values() if f.unique and (f.choices or f.values)]
    return min(caps, default=100_000)


def _stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _bounds(f: FieldSpec, lo: float, hi: float) -> tuple[float, float]:
    a = f.min if f.min is not None else (min(lo, f.max) if f.max is not None else lo)
    b = f.max if f.max is not None else max(hi, a + (hi - lo))
    return a, b


def _text(fake: Faker, rng: random.Random, fname: str, f: FieldSpec) -> str:
    if f.choices:
        return rng.choice(f.choices)
    gen = f.faker
    if gen is None:
        gen = next((g for hint, g in _NAME_HINTS if hint in fname), None)
    if gen is None:
        return fake.sentence(nb_words=3).rstrip(".")
    if gen.startswith("bothify:"):
        return fake.bothify(gen.removeprefix("bothify:"))
    if gen.startswith("numerify:"):
        return fake.numerify(gen.removeprefix("numerify:"))
    return str(getattr(fake, gen)()).replace("\n", ", ")[:2000]


def _value(fake: Faker, rng: random.Random, fname: str, f: FieldSpec, ids: Mapping[str, list[str]]) -> Any:
    t = f.type
    if t == "string":
        return _text(fake, rng, fname, f)
    if t == "enum":
        return rng.choice(f.values or [""])
    if t == "ref":
        return rng.choice(ids[f.ref or ""])
    if t == "boolean":
        return rng.random() < 0.5
    if t == "integer":
        lo, hi = _bounds(f, 0, 100)
        return rng.randint(math.ceil(lo), math.floor(hi))
    if t == "number":
        lo, hi = _bounds(f, 0, 100)
        return round(rng.uniform(lo, hi), 2)
    if t == "money":
        lo, hi = _bounds(f, 1, 500)
        return rng.randint(math.ceil(lo * 100), math.floor(hi * 100)) / 100
    lo, hi = _bounds(f, -365, 0)
    day = ANCHOR + timedelta(days=rng.randint(math.ceil(lo), math.floor(hi)))
    if t == "date":
        return day.isoformat()
    return f"{day.isoformat()}T{rng.randint(7, 19):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"


def _make_unique(value: Any, taken: set[Any], n: int) -> Any:
    if value not in taken or not isinstance(value, str):
        return value
    local, at, dom = value.partition("@")
    return f"{local}{n}@{dom}" if at else f"{value}-{n}"


def _entity_rows(fake: Faker, seed: int, domain: DomainSpec, ename: str,
                 ids: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    e: EntitySpec = domain.entities[ename]
    s = _stable_seed(seed, domain.name, ename)
    fake.seed_instance(s)
    rng = random.Random(s)
    n = len(ids[ename])
    sm = e.state_machine
    states = [sm.states[i % len(sm.states)] for i in range(n)] if sm else []
    rng.shuffle(states)
    taken: dict[str, set[Any]] = {fname: set() for fname, f in e.fields.items() if f.unique}
    # a unique field drawn from a fixed list deals its values out like cards (row_counts caps n)
    decks = {fname: rng.sample(pool, len(pool)) for fname, f in e.fields.items()
             if f.unique and (pool := list(f.choices or f.values or []))}
    out: list[dict[str, Any]] = []
    for i, id_ in enumerate(ids[ename]):
        row: dict[str, Any] = {"id": id_}
        for fname, f in e.fields.items():
            if sm and fname == sm.field:
                row[fname] = states[i]
                continue
            if not f.required and rng.random() >= OPTIONAL_FILL:
                row[fname] = None
                continue
            if fname in decks:
                row[fname] = decks[fname][i]
                continue
            v = _value(fake, rng, fname, f, ids)
            if f.unique:
                for _ in range(10):
                    if v not in taken[fname]:
                        break
                    v = _value(fake, rng, fname, f, ids)
                v = _make_unique(v, taken[fname], i + 1)
                taken[fname].add(v)
            row[fname] = v
        out.append(row)
    return out


def _apply_join(j: Join, data: dict[EntityKey, list[dict[str, Any]]], domains: Mapping[str, DomainSpec],
                rng: random.Random) -> None:
    """Make three quarters of the smaller side the same real-world things on both sides: a random sample of
    left rows paired with a random sample of right rows (so joined records do not share id numbers and an
    agent must look the join key up), the right row taking the left's join key and same-named text."""
    ld, _, le_name = j.left.partition(".")
    rd, _, re_name = j.right.partition(".")
    lk, rk = (ld, le_name), (rd, re_name)
    if lk not in data or rk not in data:
        return
    left, right = data[lk], data[rk]
    le, re = domains[lk[0]].entities[lk[1]], domains[rk[0]].entities[rk[1]]
    shared = [n for n, f in re.fields.items() if n in le.fields and f.type == "string" == le.fields[n].type
              and not f.unique and n != j.right_key]
    k = max(1, min(len(left), len(right)) * 3 // 4)
    for a, b in zip(rng.sample(left, k), rng.sample(right, k), strict=True):
        b[j.right_key] = a[j.left_key]
        for n in shared:
            b[n] = a[n]
    for n, f in re.fields.items():  # copies may collide with the right side's own unique values
        if f.unique:
            taken: set[Any] = set()
            for i, r in enumerate(right):
                r[n] = _make_unique(r[n], taken, i + 1)
                taken.add(r[n])


def seed_store(store: Store, cluster: ClusterSpec, domains: Mapping[str, DomainSpec], *,
               seed: int | None = None, rows: int | None = None, mark: tuple[str, str] | None = None) -> bool:
    """Fill ``store`` (empty tables from ``cluster_tables``) with the cluster's seeded world.

    ``mark`` is a (key, value) written to the store's metadata in the same transaction, so a file is
    either fully seeded and marked, or untouched. When the key is already set once the write lock is held
    (another process seeded the same new file first), nothing is written and False is returned.
    """
    from faker import Faker

    seed = cluster.seed_recipe.seed if seed is None else seed
    counts = row_counts(cluster, domains, rows)
    ids: dict[EntityKey, list[str]] = {
        (d, e): [f"{domains[d].entities[e].id_prefix}-{i:06d}" for i in range(1, n + 1)] for (d, e), n in counts.items()
    }
    fake = Faker("en_US")
    data: dict[EntityKey, list[dict[str, Any]]] = {}
    for d, e in sorted(counts):
        local_ids = {ent: ids[(dd, ent)] for dd, ent in ids if dd == d}
        data[(d, e)] = _entity_rows(fake, seed, domains[d], e, local_ids)
    for j in cluster.seed_recipe.joins:
        _apply_join(j, data, domains, random.Random(_stable_seed(seed, "join", j.left, j.right)))
    with store.transaction():
        if mark is not None and store.meta(mark[0]) is not None:
            return False
        for (d, e), rws in sorted(data.items()):
            store.insert_many(table_name(d, e), rws)
            store.set_next(table_name(d, e), len(rws) + 1)
        if mark is not None:
            store.set_meta(*mark)
    return True


class Templates:
    """Seeded worlds kept as images by (cluster id, seed, rows); ``store()`` hands out fresh clones.

    The harness keeps one ``Templates`` and passes it to every runtime, so a cluster is seeded once
    and each episode starts from a copy.
    """

    def __init__(self) -> None:
        self._images: dict[tuple[str, int, int | None], Snapshot] = {}

    def store(self, cluster: ClusterSpec, domains: Mapping[str, DomainSpec], *, seed: int | None = None,
              rows: int | None = None) -> Store:
        seed = cluster.seed_recipe.seed if seed is None else seed
        tables = cluster_tables(domains)
        key = (cluster.id, seed, rows)
        if key not in self._images:
            s = Store.open(tables)
            try:
                seed_store(s, cluster, domains, seed=seed, rows=rows)
                self._images[key] = s.snapshot()
            finally:
                s.close()
        return Store.from_snapshot(tables, self._images[key])
