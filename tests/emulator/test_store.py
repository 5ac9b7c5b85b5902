"""The emulator's SQLite store: a transaction that cannot commit leaves nothing open."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from workos_orgs.emulator._store import Store


def test_a_commit_that_fails_rolls_back_and_the_store_keeps_working(tmp_path: Path) -> None:
    path = str(tmp_path / "emulator.db")
    store = Store(path)
    try:
        # A foreign key checked only at COMMIT, broken by a trigger on the store's own write:
        # the store's COMMIT itself fails, as it would on a full disk.
        with closing(sqlite3.connect(path)) as other, other:
            other.executescript(
                """
                CREATE TABLE parent (id TEXT PRIMARY KEY);
                CREATE TABLE child (
                    parent_id TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED
                );
                CREATE TRIGGER break_commit AFTER INSERT ON dns_records
                BEGIN INSERT INTO child VALUES ('missing'); END;
                """
            )
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), store.transaction():
            store.publish_txt_record("_workos-verification.a.com", "token-a")
        assert store.txt_records() == []

        # Nothing is left open: another connection can write, and so can the store.
        with closing(sqlite3.connect(path, timeout=0)) as other, other:
            other.execute("DROP TRIGGER break_commit")
        with store.transaction():
            store.publish_txt_record("_workos-verification.b.com", "token-b")
        assert store.txt_records() == [("_workos-verification.b.com", "token-b")]
    finally:
        store.close()


def test_the_weight_of_idempotency_records_stays_their_sum_through_every_change(tmp_path: Path) -> None:
    """The budget reads a running sum kept by triggers; it must never drift from the records."""
    path = str(tmp_path / "emulator.db")

    def kept_weight() -> int:
        with closing(sqlite3.connect(path)) as other:
            (weight,) = other.execute("SELECT bytes FROM idempotency_weight").fetchone()
            return int(weight)

    def put(store: Store, key: str, size: int, expires_at: float) -> None:
        with store.transaction():
            store.put_idempotent(key, b"f" * 32, 201, "application/json", b"x" * size, expires_at)

    store = Store(path)
    try:
        for n in range(10):
            put(store, f"key-{n}", 100 * (n + 1), expires_at=1_000 + n)
        put(store, "key-3", 7, expires_at=2_000)  # an expired key used again replaces its record
        assert kept_weight() == store.idempotent_bytes() == sum(100 * (n + 1) + 5 for n in range(10)) - 400 + 7
        store.purge_idempotent(now=1_001.5, keep=6)  # key-0 and key-1 expired; then the newest 6 are kept
        assert store.count_idempotent() == 6
        assert kept_weight() == store.idempotent_bytes()
        with store.transaction():
            assert store.trim_idempotent(keep_bytes=2_000, spare="key-3") == 3  # the oldest, key-5 to key-7, go
        assert kept_weight() == store.idempotent_bytes() <= 2_000
        assert store.get_idempotent("key-3", now=0) is not None  # the newest is kept
    finally:
        store.close()

    # A file from before the weight was kept has it added up when opened.
    with closing(sqlite3.connect(path)) as other, other:
        other.execute("DROP TABLE idempotency_weight")
    store = Store(path)
    try:
        assert kept_weight() == store.idempotent_bytes() > 0
        store.clear()
        assert kept_weight() == store.idempotent_bytes() == 0
    finally:
        store.close()
