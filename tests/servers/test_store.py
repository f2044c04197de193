"""The state store: exact values, order-independent hashes, diffs, snapshots, clones, durable files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tdscaling.servers import Snapshot, Store
from tdscaling.servers._store import Table

TABLES = [Table("shop__item", {"name": "string", "price": "money", "count": "integer", "ok": "boolean"})]
ROWS = [{"id": f"ITM-{i:06d}", "name": f"item {i}", "price": i + 0.1, "count": i, "ok": i % 2 == 0}
        for i in range(1, 6)]


def _store(rows: list[dict[str, object]] = ROWS, db: str | Path = ":memory:") -> Store:
    s = Store.open(TABLES, db)
    with s.transaction():
        s.insert_many("shop__item", rows)
    return s


def test_money_is_stored_as_exact_cents_and_read_back_with_two_decimals() -> None:
    s = _store([{"id": "ITM-000001", "name": "a", "price": 0.1, "count": 1, "ok": True}])
    with s.transaction():
        for _ in range(3):
            row = s.get("shop__item", "ITM-000001")
            assert row is not None
            s.update("shop__item", "ITM-000001", {"price": row["price"] + 0.1})
    assert s.get("shop__item", "ITM-000001") == {"id": "ITM-000001", "name": "a", "price": 0.4, "count": 1, "ok": True}
    raw = s._conn.execute("SELECT price FROM shop__item").fetchone()[0]
    assert raw == 40


def test_the_state_hash_ignores_insertion_order_but_not_values() -> None:
    a, b = _store(ROWS), _store(list(reversed(ROWS)))
    assert a.state_hash() == b.state_hash()
    with b.transaction():
        b.update("shop__item", "ITM-000003", {"count": 99})
    assert a.state_hash() != b.state_hash()
    assert a.state_hash(["shop__item"]) == a.state_hash()


def test_diff_lists_added_removed_and_changed_rows_with_the_changed_fields() -> None:
    s = _store()
    before = s.snapshot()
    with s.transaction():
        s.insert("shop__item", {"id": "ITM-000009", "name": "new", "price": 1, "count": 0, "ok": False})
        s.delete("shop__item", "ITM-000001")
        s.update("shop__item", "ITM-000002", {"price": 5.55, "name": "renamed"})
    d = s.diff(before, s)["shop__item"]
    assert [r["id"] for r in d.added] == ["ITM-000009"]
    assert [r["id"] for r in d.removed] == ["ITM-000001"]
    assert len(d.changed) == 1 and d.changed[0].id == "ITM-000002"
    assert d.changed[0].fields == {"price": (2.1, 5.55), "name": ("item 2", "renamed")}
    assert s.diff(before, before) == {}


def test_restore_brings_a_snapshot_back_and_clones_are_independent() -> None:
    s = _store()
    snap = s.snapshot()
    assert isinstance(snap, Snapshot)
    h = s.state_hash()
    copy = s.clone()
    with s.transaction():
        s.delete("shop__item", "ITM-000001")
    assert s.state_hash() != h and copy.state_hash() == h
    s.restore(snap)
    assert s.state_hash() == h
    with copy.transaction():
        copy.update("shop__item", "ITM-000002", {"count": 0})
    assert s.state_hash() == h


def test_a_failed_transaction_leaves_nothing_behind() -> None:
    s = _store()
    h = s.state_hash()
    try:
        with s.transaction():
            s.delete("shop__item", "ITM-000001")
            raise ValueError("stop")
    except ValueError:
        pass
    assert s.state_hash() == h


def test_a_file_store_uses_wal_and_keeps_committed_writes(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    s = _store(db=db)
    assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    h = s.state_hash()
    other = sqlite3.connect(db)  # another process would see the same committed rows
    assert other.execute("SELECT COUNT(*) FROM shop__item").fetchone()[0] == len(ROWS)
    other.close()
    s.close()
    assert Store.open(TABLES, db).state_hash() == h


def test_ids_continue_after_the_last_number_even_after_a_delete() -> None:
    s = _store()
    with s.transaction():
        s.set_next("shop__item", 6)
        s.delete("shop__item", "ITM-000005")
        assert s.next_id("shop__item", "ITM") == "ITM-000006"
        assert s.next_id("shop__item", "ITM") == "ITM-000007"
