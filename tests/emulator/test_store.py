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
