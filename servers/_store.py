"""The state store: one SQLite database per server instance, a table per (domain, entity).

Values are stored exactly: money as integer cents (read back as numbers with 2 decimals), booleans as
0/1, dates and datetimes as ISO text. A file-backed store runs in WAL mode and commits each write before
the reply; ``:memory:`` stores serve episodes. The harness reads state through ``rows``/``get``,
compares it with ``state_hash``/``diff`` and resets it with ``snapshot``/``restore``/``clone``.

A ``Store`` is not safe for concurrent use from several threads; the runtime serialises calls.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Literal

Row = dict[str, Any]
CondOp = Literal["eq", "contains", "ge", "le"]
_SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "money": "INTEGER", "boolean": "INTEGER"}
_OPS = {"eq": "=", "ge": ">=", "le": "<="}
_SEQ = "_seq"
_META = "_meta"


def table_name(domain: str, entity: str) -> str:
    """The table of ``domain.entity``, e.g. ``online_store__order``."""
    return f"{domain}__{entity}"


CENT = Decimal("0.01")


def to_cents(value: float | int | str | Decimal) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def stored_number(value: Decimal, ftype: str) -> int | float:
    """A computed quantity as a field of type ``ftype`` holds it: integers whole, money in whole cents."""
    if ftype == "integer":
        return int(value)
    if ftype == "money":
        return float(value.quantize(CENT, rounding=ROUND_HALF_EVEN))
    return float(value)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Table:
    """A table's columns (besides ``id``), each with its field type (``money``, ``date``, ...)."""

    name: str
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Cond:
    """A filter: ``column`` ``op`` ``value`` (``contains`` is case-insensitive)."""

    column: str
    op: CondOp
    value: Any


@dataclass(frozen=True)
class Snapshot:
    """A frozen image of a whole store (the SQLite database serialised to bytes)."""

    image: bytes


@dataclass(frozen=True)
class ChangedRow:
    id: str
    fields: dict[str, tuple[Any, Any]]  # field -> (before, after)


@dataclass(frozen=True)
class TableDiff:
    added: list[Row] = field(default_factory=list)
    removed: list[Row] = field(default_factory=list)
    changed: list[ChangedRow] = field(default_factory=list)


_BUSY_TIMEOUT_S = 60.0  # another process seeding or writing the same file holds its lock this long at most


def _connect(db: str) -> sqlite3.Connection:
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_S)
    if db != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    return conn


class Store:
    """A typed SQLite store. Build one with ``Store.open(tables, db)``."""

    def __init__(self, tables: Sequence[Table], conn: sqlite3.Connection, *, path: str = ":memory:") -> None:
        self.tables = {t.name: t for t in tables}
        self.path = path
        self._conn = conn
        self._decoders = {t.name: self._decoder(t) for t in tables}

    @classmethod
    def open(cls, tables: Sequence[Table], db: str | Path = ":memory:") -> Store:
        """Open (creating if needed) a store with ``tables`` in ``db`` (a file path or ``:memory:``)."""
        path = str(db)
        conn = _connect(path)
        with conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: upgrading a read later can fail at once
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_SEQ} (tbl TEXT PRIMARY KEY, next INTEGER NOT NULL)")
            conn.execute(f"CREATE TABLE IF NOT EXISTS {_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for t in tables:
                cols = "".join(f", {_q(c)} {_SQL_TYPES.get(ty, 'TEXT')}" for c, ty in t.columns.items())
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_q(t.name)} (id TEXT PRIMARY KEY{cols})")
                conn.execute(f"INSERT OR IGNORE INTO {_SEQ} VALUES (?, 1)", (t.name,))
        return cls(tables, conn, path=path)

    def close(self) -> None:
        self._conn.close()

    # --- encoding ----------------------------------------------------------------------------------
    @staticmethod
    def _decoder(t: Table) -> list[tuple[str, str]]:
        return [("id", "string"), *t.columns.items()]

    def _encode(self, table: str, column: str, value: Any) -> Any:
        if value is None:
            return None
        ty = self.tables[table].columns.get(column)
        if ty == "money":
            return to_cents(value)
        if ty == "boolean":
            return int(bool(value))
        if ty == "integer":
            return int(value)
        return value

    def _decode_row(self, table: str, raw: Sequence[Any]) -> Row:
        out: Row = {}
        for (name, ty), v in zip(self._decoders[table], raw, strict=True):
            if v is not None and ty == "money":
                v = v / 100
            elif v is not None and ty == "boolean":
                v = bool(v)
            out[name] = v
        return out

    def _select_cols(self, table: str) -> str:
        return ", ".join(_q(n) for n, _ in self._decoders[table])

    # --- transactions ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together (durably, for a file) or not at all."""
        if self._conn.in_transaction:  # nested: part of the outer transaction
            yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- reads -------------------------------------------------------------------------------------
    def get(self, table: str, id: str) -> Row | None:
        raw = self._conn.execute(f"SELECT {self._select_cols(table)} FROM {_q(table)} WHERE id = ?",
                                 (id,)).fetchone()
        return None if raw is None else self._decode_row(table, raw)

    def rows(self, table: str) -> list[Row]:
        """Every row of ``table``, ordered by id."""
        cur = self._conn.execute(f"SELECT {self._select_cols(table)} FROM {_q(table)} ORDER BY id")
        return [self._decode_row(table, r) for r in cur]

    def count(self, table: str) -> int:
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {_q(table)}").fetchone()[0])

    def _where(self, table: str, conds: Sequence[Cond]) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        for c in conds:
            if c.op == "contains":
                text = str(c.value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                parts.append(f"{_q(c.column)} LIKE ? ESCAPE '\\'")
                args.append(f"%{text}%")
            else:
                parts.append(f"{_q(c.column)} {_OPS[c.op]} ?")
                args.append(self._encode(table, c.column, c.value))
        return (" WHERE " + " AND ".join(parts)) if parts else "", args

    def select(self, table: str, conds: Sequence[Cond] = (), *, limit: int | None = None,
               offset: int = 0) -> tuple[list[Row], int]:
        """Rows matching every condition, ordered by id, and how many match in all."""
        where, args = self._where(table, conds)
        total = int(self._conn.execute(f"SELECT COUNT(*) FROM {_q(table)}{where}", args).fetchone()[0])
        page = f" LIMIT {int(limit) if limit is not None else -1} OFFSET {int(offset)}"
        cur = self._conn.execute(f"SELECT {self._select_cols(table)} FROM {_q(table)}{where} ORDER BY id{page}",
                                 args)
        return [self._decode_row(table, r) for r in cur], total

    def aggregate(self, table: str, function: str, column: str | None,
                  conds: Sequence[Cond] = ()) -> tuple[float | int | None, int]:
        """(count/sum/avg/min/max of ``column`` over matching rows, how many rows matched)."""
        where, args = self._where(table, conds)
        expr = {"count": "COUNT(*)", "sum": "TOTAL({c})", "avg": "AVG({c})", "min": "MIN({c})",
                "max": "MAX({c})"}[function].format(c=_q(column or "id"))
        value, matched = self._conn.execute(f"SELECT {expr}, COUNT(*) FROM {_q(table)}{where}", args).fetchone()
        if function != "count" and value is not None and column is not None:
            ty = self.tables[table].columns.get(column)
            if ty == "money":
                value = round(value) / 100
            elif ty == "integer" and function in ("sum", "min", "max"):
                value = int(value)
            elif ty == "number":
                value = round(value, 6)  # a float sum shows noise (127256.18999999999) an agent would repeat
        return value, int(matched)

    # --- writes ------------------------------------------------------------------------------------
    def next_id(self, table: str, prefix: str) -> str:
        """The next unused id of ``table`` (``ORD-000061`` after 60 seeded orders)."""
        (n,) = self._conn.execute(f"SELECT next FROM {_SEQ} WHERE tbl = ?", (table,)).fetchone()
        self._conn.execute(f"UPDATE {_SEQ} SET next = ? WHERE tbl = ?", (n + 1, table))
        return f"{prefix}-{n:06d}"

    def meta(self, key: str) -> str | None:
        row = self._conn.execute(f"SELECT value FROM {_META} WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(f"INSERT OR REPLACE INTO {_META} VALUES (?, ?)", (key, value))

    def set_next(self, table: str, n: int) -> None:
        self._conn.execute(f"UPDATE {_SEQ} SET next = ? WHERE tbl = ?", (n, table))

    def insert(self, table: str, row: Mapping[str, Any]) -> None:
        names = list(row)
        self._conn.execute(
            f"INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) VALUES ({', '.join('?' * len(names))})",
            [self._encode(table, n, row[n]) for n in names])

    def insert_many(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        names = ["id", *self.tables[table].columns]
        self._conn.executemany(
            f"INSERT INTO {_q(table)} ({', '.join(map(_q, names))}) VALUES ({', '.join('?' * len(names))})",
            [[self._encode(table, n, r.get(n)) for n in names] for r in rows])

    def update(self, table: str, id: str, changes: Mapping[str, Any]) -> None:
        if not changes:
            return
        sets = ", ".join(f"{_q(n)} = ?" for n in changes)
        self._conn.execute(f"UPDATE {_q(table)} SET {sets} WHERE id = ?",
                           [*(self._encode(table, n, v) for n, v in changes.items()), id])

    def delete(self, table: str, id: str) -> bool:
        return self._conn.execute(f"DELETE FROM {_q(table)} WHERE id = ?", (id,)).rowcount > 0

    # --- the harness's API -------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The whole state, frozen; ``restore`` brings it back."""
        return Snapshot(self._conn.serialize())

    def restore(self, snap: Snapshot) -> None:
        """Make this store's state exactly ``snap`` (a file-backed store writes it to its file)."""
        src = sqlite3.connect(":memory:")
        try:
            src.deserialize(snap.image)
            src.backup(self._conn)
        finally:
            src.close()

    def clone(self) -> Store:
        """An independent in-memory copy of the current state."""
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if self.path == ":memory:":
            conn.deserialize(self._conn.serialize())
        else:
            self._conn.backup(conn)
        return Store(list(self.tables.values()), conn)

    @classmethod
    def from_snapshot(cls, tables: Sequence[Table], snap: Snapshot) -> Store:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.deserialize(snap.image)
        return cls(tables, conn)

    def state_hash(self, tables: Sequence[str] | None = None) -> str:
        """sha256 of the rows of ``tables`` (default: all), independent of row and insertion order."""
        h = hashlib.sha256()
        for name in sorted(tables if tables is not None else self.tables):
            t = self.tables[name]
            h.update(json.dumps([name, sorted(t.columns)]).encode())
            cols = ", ".join(map(_q, ["id", *sorted(t.columns)]))
            for raw in self._conn.execute(f"SELECT {cols} FROM {_q(name)} ORDER BY id"):
                h.update(json.dumps(raw, separators=(",", ":")).encode())
                h.update(b"\n")
        return h.hexdigest()

    def table_rows(self) -> dict[str, dict[str, Row]]:
        return {name: {r["id"]: r for r in self.rows(name)} for name in sorted(self.tables)}

    def diff(self, a: Store | Snapshot, b: Store | Snapshot) -> dict[str, TableDiff]:
        """``diff(a, b)`` over this store's tables (``a``/``b`` are snapshots or stores)."""
        return diff(a, b, tables=list(self.tables.values()))


def _as_rows(x: Store | Snapshot, tables: Sequence[Table]) -> dict[str, dict[str, Row]]:
    if isinstance(x, Store):
        return x.table_rows()
    s = Store.from_snapshot(tables, x)
    try:
        return s.table_rows()
    finally:
        s.close()


def diff(a: Store | Snapshot, b: Store | Snapshot, *, tables: Sequence[Table] | None = None) -> dict[str, TableDiff]:
    """What changed from ``a`` to ``b``, per table with changes: rows added, removed, and changed fields.

    ``tables`` is needed only when both sides are snapshots; otherwise a store's tables are used.
    """
    schema = list(tables) if tables is not None else next(
        (list(x.tables.values()) for x in (a, b) if isinstance(x, Store)), None)
    if schema is None:
        raise TypeError("diff of two snapshots needs tables=")
    ra, rb = _as_rows(a, schema), _as_rows(b, schema)
    out: dict[str, TableDiff] = {}
    for name in sorted(set(ra) | set(rb)):
        before, after = ra.get(name, {}), rb.get(name, {})
        d = TableDiff(
            added=[after[i] for i in sorted(after.keys() - before.keys())],
            removed=[before[i] for i in sorted(before.keys() - after.keys())],
        )
        for i in sorted(before.keys() & after.keys()):
            changed = {k: (before[i].get(k), v) for k, v in after[i].items() if before[i].get(k) != v}
            if changed:
                d.changed.append(ChangedRow(i, changed))
        if d.added or d.removed or d.changed:
            out[name] = d
    return out
