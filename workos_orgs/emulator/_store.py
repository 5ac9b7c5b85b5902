"""SQLite storage for the emulator: organizations, their domains, idempotency records.

Synchronous on purpose: every call is sub-millisecond, and running a whole request's reads
and writes without an ``await`` in between is what makes each request atomic on the event
loop.  Callers hold the emulator's lock around a request (see ``_api.EmulatedApi``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from .._contract import Order


def _record_bytes(row: str) -> str:
    """What an idempotency record weighs against `Limits.idempotency_bytes`, in SQL: its
    response and its key.  `row` is ``NEW.`` or ``OLD.`` in a trigger, ``""`` in a query."""
    return f"length({row}body) + length(CAST({row}key AS BLOB))"


# `rendered` is the organization as the API shows it (domains included), kept current by
# each transaction; listings serve it as it is.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    external_id TEXT UNIQUE,
    stripe_customer_id TEXT UNIQUE,
    metadata TEXT NOT NULL,
    allow_profiles_outside_organization INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rendered BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS organization_domains (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    state TEXT NOT NULL,
    verification_strategy TEXT,
    verification_token TEXT,
    verification_prefix TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (organization_id, domain)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS organization_domains_by_domain ON organization_domains (domain);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_expiry ON idempotency_keys (expires_at);
-- One row: what the idempotency records weigh together, kept by the triggers below, so that
-- every process on a file reads the same sum without adding the table up.
CREATE TABLE IF NOT EXISTS idempotency_weight (bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS idempotency_keys_added AFTER INSERT ON idempotency_keys BEGIN
    UPDATE idempotency_weight SET bytes = bytes + {added};
END;
CREATE TRIGGER IF NOT EXISTS idempotency_keys_removed AFTER DELETE ON idempotency_keys BEGIN
    UPDATE idempotency_weight SET bytes = bytes - ({removed});
END;
CREATE TABLE IF NOT EXISTS dns_records (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, value)
) WITHOUT ROWID;
""".format(added=_record_bytes("NEW."), removed=_record_bytes("OLD."))
# Bumped whenever the rendering of an organization changes: a file kept from an older
# version has every organization rendered again when it is opened.
_RENDER_VERSION = 2


def _statements(script: str) -> Iterator[str]:
    """The statements of `script` one by one: `executescript` would commit the transaction
    they are meant to run in."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


_ORGANIZATION_COLUMNS = (
    "id, name, external_id, stripe_customer_id, metadata, allow_profiles_outside_organization, created_at, updated_at"
)
_DOMAIN_COLUMNS = (
    "id, organization_id, domain, state, verification_strategy, verification_token, "
    "verification_prefix, created_at, updated_at"
)

Json = dict[str, Any]


def search_key(text: str) -> str:
    """What the ``search`` filter compares: a name, or the text searched for, case-folded (the
    filter is a case-insensitive substring of the name -- assumed).  Stored beside each name,
    so a file made under another rule needs its names folded again."""
    return text.casefold()


def _domain_json(row: Sequence[Any]) -> Json:
    domain: Json = {
        "object": "organization_domain",
        "id": row[0],
        "organization_id": row[1],
        "domain": row[2],
        "state": row[3],
    }
    # The live API leaves these keys out when they have no value (a `manual` domain has no
    # token or prefix, a `legacy_verified` one no strategy either); it never sends null.
    if row[4] is not None:
        domain["verification_strategy"] = row[4]
    if row[5] is not None:
        domain["verification_token"] = row[5]
    if row[6] is not None:
        domain["verification_prefix"] = row[6]
    domain["created_at"] = row[7]
    domain["updated_at"] = row[8]
    return domain


def _organization_json(row: Sequence[Any], domains: list[Json]) -> Json:
    organization: Json = {
        "object": "organization",
        "id": row[0],
        "name": row[1],
        "domains": domains,
        "metadata": orjson.loads(row[4]),
        "external_id": row[2],
    }
    if row[3] is not None:
        organization["stripe_customer_id"] = row[3]
    organization["allow_profiles_outside_organization"] = bool(row[5])
    organization["created_at"] = row[6]
    organization["updated_at"] = row[7]
    return organization


class Store:
    """The emulator's data: in memory, or in a file that survives restarts.

    `created` says whether this store made the database (memory, a new or empty file, or
    one without the emulator's tables) rather than opened one an emulator had made before.
    """

    def __init__(self, path: str | None = None) -> None:
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        try:
            self._set_up(path)
        except BaseException:
            self._db.close()  # a file that is not a database: not kept open by the error
            raise

    def _set_up(self, path: str | None) -> None:
        if path:
            # WAL with synchronous=NORMAL loses nothing when the process is killed: a commit
            # is in the OS's hands before the response is sent.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        # One connection serves every request, but another process (a second emulator, or
        # sqlite3 on the file) may hold a lock for a moment: wait for it rather than fail.
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._dirty: set[str] = set()
        self._depth = 0
        with self.transaction():
            # Inside the write lock: of two processes opening a new file at once, one makes it.
            made = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'organizations'"
            self.created = self._db.execute(made).fetchone() is None
            for statement in _statements(_SCHEMA):
                self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(organizations)")}
            if "rendered" not in columns:  # a file written before organizations were kept rendered
                self._db.execute("ALTER TABLE organizations ADD COLUMN rendered BLOB")
            (version,) = self._db.execute("PRAGMA user_version").fetchone()
            if version < _RENDER_VERSION:
                self._db.execute("UPDATE organizations SET rendered = NULL")
                self._db.execute(f"PRAGMA user_version = {_RENDER_VERSION}")
            self._dirty.update(
                ident for (ident,) in self._db.execute("SELECT id FROM organizations WHERE rendered IS NULL")
            )
            if self._db.execute("SELECT 1 FROM idempotency_weight").fetchone() is None:  # new, or from before it
                self._db.execute(
                    f"INSERT INTO idempotency_weight SELECT total({_record_bytes('')}) FROM idempotency_keys"
                )

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def busy(error: sqlite3.OperationalError) -> bool:
        """Whether `error` is another connection holding the file longer than the busy timeout."""
        return (error.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all.

        A transaction inside another is a savepoint: its writes are undone alone when it
        fails, and committed with the outer one.  ``BEGIN IMMEDIATE`` takes the write lock
        before the first read, so checks made inside (is this external_id free?) still hold
        at the commit, even with another process writing to the same file.

        Organizations the writes touched are rendered again just before the commit, so a
        listing (which serves the rendered JSON) never shows a stale one.
        """
        if self._depth:
            savepoint = f"nested_{self._depth}"
            self._db.execute(f"SAVEPOINT {savepoint}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._db.execute(f"ROLLBACK TO {savepoint}")
                raise
            finally:
                self._depth -= 1
                self._db.execute(f"RELEASE {savepoint}")
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self._render(self._dirty)
            self._db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a full disk, say) may leave the transaction open; left so, every
            # later BEGIN would fail and the database would stay locked.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
            self._dirty.clear()

    def _render(self, organization_ids: set[str]) -> None:
        ids = sorted(organization_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT {_ORGANIZATION_COLUMNS} FROM organizations WHERE id IN ({marks})", chunk
            ).fetchall()
            domains = self._domains_of_many(chunk)
            self._db.executemany(
                "UPDATE organizations SET rendered = ? WHERE id = ?",
                [(orjson.dumps(_organization_json(row, domains.get(row[0], []))), row[0]) for row in rows],
            )

    def version(self) -> tuple[int, int] | None:
        """A value that changes whenever the committed data may have changed; None inside a transaction.

        SQLite counts every row this connection writes (`total_changes`), and ``PRAGMA
        data_version`` changes when any other connection -- another emulator process on the
        same file -- commits.  Inside a transaction the writes may yet be rolled back, so
        nothing read there may be kept.
        """
        if self._db.in_transaction:
            return None
        (others,) = self._db.execute("PRAGMA data_version").fetchone()
        return self._db.total_changes, others

    def clear(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM organization_domains")
            self._db.execute("DELETE FROM organizations")
            self._db.execute("DELETE FROM idempotency_keys")
            self._db.execute("DELETE FROM dns_records")

    def newest_ids(self) -> Iterator[str]:
        """The highest stored ID of each kind, so new IDs can be made to sort after them."""
        newest = self._db.execute(
            "SELECT (SELECT max(id) FROM organizations), (SELECT max(id) FROM organization_domains)"
        ).fetchone()
        yield from (ident for ident in newest if ident is not None)

    def newest_id_between(self, table: str, low: str, high: str) -> str | None:
        """The highest ID in `table` (``organizations`` or ``organization_domains``) from `low`
        up to, not including, `high`."""
        (ident,) = self._db.execute(f"SELECT max(id) FROM {table} WHERE id >= ? AND id < ?", (low, high)).fetchone()
        return None if ident is None else str(ident)

    # Organizations.

    def insert_organization(self, row: Json) -> None:
        self._db.execute(
            "INSERT INTO organizations (id, name, name_folded, external_id, stripe_customer_id,"
            " metadata, allow_profiles_outside_organization, created_at, updated_at)"
            " VALUES (:id, :name, :name_folded, :external_id, :stripe_customer_id, :metadata,"
            " :allow_profiles_outside_organization, :created_at, :updated_at)",
            {**row, "name_folded": search_key(row["name"]), "metadata": orjson.dumps(row["metadata"])},
        )
        self._dirty.add(row["id"])

    def update_organization(self, organization_id: str, changes: Json) -> None:
        values = dict(changes)
        if "metadata" in values:
            values["metadata"] = orjson.dumps(values["metadata"])
        if "name" in values:
            values["name_folded"] = search_key(values["name"])
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        self._db.execute(
            f"UPDATE organizations SET {assignments} WHERE id = :_id",
            {**values, "_id": organization_id},
        )
        self._dirty.add(organization_id)

    def delete_organization(self, organization_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM organizations WHERE id = ?", (organization_id,))
        return cursor.rowcount > 0

    def get_organization(self, organization_id: str) -> Json | None:
        return self._one_organization("id = ?", organization_id)

    def rendered_organization(self, column: str, value: str) -> bytes | None:
        """The organization whose `column` (``id`` or ``external_id``) is `value`, as its JSON.

        Current outside a transaction only: a transaction renders what it touched as it commits.
        """
        assert column in ("id", "external_id")
        row = self._db.execute(f"SELECT rendered FROM organizations WHERE {column} = ?", (value,)).fetchone()
        return None if row is None else bytes(row[0])

    def owner_of(self, column: str, value: str) -> str | None:
        """The ID of the organization whose unique `column` holds `value`."""
        assert column in ("external_id", "stripe_customer_id")
        row = self._db.execute(
            f"SELECT id FROM organizations WHERE {column} = ?",
            (value,),
        ).fetchone()
        return None if row is None else str(row[0])

    def _one_organization(self, where: str, value: str) -> Json | None:
        row = self._db.execute(
            f"SELECT {_ORGANIZATION_COLUMNS} FROM organizations WHERE {where}",
            (value,),
        ).fetchone()
        if row is None:
            return None
        return _organization_json(row, self.domains_of(row[0]))

    def list_organizations(
        self,
        *,
        order: Order,
        limit: int,
        before: str | None,
        after: str | None,
        domains: Sequence[str],
        search: str | None,
    ) -> tuple[list[bytes], str | None, str | None]:
        """One page of organizations (each as the API's JSON) and its ``(before, after)`` cursors.

        Each cursor, passed back under its own name, fetches the adjacent page on its side;
        it is null when that side holds nothing.  Under ``desc`` and ``asc`` that makes
        ``after`` the last item and ``before`` the first; under ``normal`` (newest first,
        ``after`` meaning newer) it makes ``after`` the first item and ``before`` the last.
        """
        filters: list[str] = []
        params: list[Any] = []
        if domains:
            # One bound JSON array, not one variable per domain: SQLite caps the variables.
            filters.append(
                "id IN (SELECT organization_id FROM organization_domains WHERE domain IN (SELECT value FROM json_each(?)))"
            )
            params.append(orjson.dumps(list(domains)).decode())
        if search:
            filters.append("instr(name_folded, ?) > 0")
            params.append(search_key(search))
        # Which IDs lie on each cursor's side: "<" means older than the cursor.
        side = {"before": ">", "after": "<"} if order is Order.DESC else {"before": "<", "after": ">"}
        newest_first = order is not Order.ASC

        page_filters, page_params = list(filters), list(params)
        if after is not None or before is not None:
            name, cursor = ("after", after) if after is not None else ("before", before)
            page_filters.append(f"id {side[name]} ?")
            page_params.append(cursor)
            # The `limit` items nearest the cursor, whichever way the list is shown.
            nearest_first_desc = side[name] == "<"
        else:
            nearest_first_desc = newest_first
        where = " AND ".join(page_filters) or "1"
        direction = "DESC" if nearest_first_desc else "ASC"
        rows = self._db.execute(
            f"SELECT id, rendered FROM organizations WHERE {where} ORDER BY id {direction} LIMIT ?",
            [*page_params, limit],
        ).fetchall()
        if nearest_first_desc != newest_first:
            rows.reverse()
        if not rows:
            return [], None, None

        ids = [row[0] for row in rows]
        oldest, newest = min(ids[0], ids[-1]), max(ids[0], ids[-1])
        cursors: dict[str, str | None] = {}
        for name, relation in side.items():
            edge = oldest if relation == "<" else newest
            cursors[name] = edge if self._any_beyond(filters, params, relation, edge) else None

        return [bytes(row[1]) for row in rows], cursors["before"], cursors["after"]

    def _any_beyond(self, filters: list[str], params: list[Any], relation: str, edge: str) -> bool:
        where = " AND ".join([*filters, f"id {relation} ?"])
        row = self._db.execute(
            f"SELECT 1 FROM organizations WHERE {where} LIMIT 1",
            [*params, edge],
        ).fetchone()
        return row is not None

    # Domains.

    def insert_domain(self, row: Json) -> None:
        self._db.execute(
            f"INSERT INTO organization_domains ({_DOMAIN_COLUMNS}) VALUES (:id, :organization_id,"
            " :domain, :state, :verification_strategy, :verification_token,"
            " :verification_prefix, :created_at, :updated_at)",
            row,
        )
        self._dirty.add(row["organization_id"])

    def update_domain(self, domain_id: str, changes: Json) -> None:
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        self._db.execute(
            f"UPDATE organization_domains SET {assignments} WHERE id = :_id",
            {**changes, "_id": domain_id},
        )
        self._touch_owner_of(domain_id)

    def delete_domain(self, domain_id: str) -> bool:
        self._touch_owner_of(domain_id)
        cursor = self._db.execute("DELETE FROM organization_domains WHERE id = ?", (domain_id,))
        return cursor.rowcount > 0

    def _touch_owner_of(self, domain_id: str) -> None:
        row = self._db.execute("SELECT organization_id FROM organization_domains WHERE id = ?", (domain_id,)).fetchone()
        if row is not None:
            self._dirty.add(row[0])

    def get_domain(self, domain_id: str) -> Json | None:
        row = self._db.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM organization_domains WHERE id = ?",
            (domain_id,),
        ).fetchone()
        return None if row is None else _domain_json(row)

    def domains_of(self, organization_id: str) -> list[Json]:
        return self._domains_of_many([organization_id]).get(organization_id, [])

    def _domains_of_many(self, organization_ids: Sequence[str]) -> dict[str, list[Json]]:
        marks = ", ".join("?" * len(organization_ids))
        grouped: dict[str, list[Json]] = {}
        for row in self._db.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM organization_domains WHERE organization_id IN ({marks}) ORDER BY id",
            list(organization_ids),
        ):
            grouped.setdefault(row[1], []).append(_domain_json(row))
        return grouped

    # Idempotency.

    def get_idempotent(self, key: str, now: float) -> tuple[bytes, int, str, bytes] | None:
        row = self._db.execute(
            "SELECT fingerprint, status, content_type, body FROM idempotency_keys WHERE key = ? AND expires_at > ?",
            (key, now),
        ).fetchone()
        return None if row is None else (bytes(row[0]), int(row[1]), str(row[2]), bytes(row[3]))

    def put_idempotent(
        self, key: str, fingerprint: bytes, status: int, content_type: str, body: bytes, expires_at: float
    ) -> None:
        # Not INSERT OR REPLACE: the row it replaced would be taken off no weight.
        self._db.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))
        self._db.execute(
            "INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?, ?)",
            (key, fingerprint, status, content_type, body, expires_at),
        )

    def purge_idempotent(self, now: float, keep: int) -> int:
        """Forget expired keys, then the soonest-expiring beyond the newest `keep`; returns how many."""
        with self.transaction():
            expired = self._db.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,)).rowcount
            overflow = self._db.execute(
                "DELETE FROM idempotency_keys WHERE key IN (SELECT key FROM idempotency_keys"
                " ORDER BY expires_at DESC LIMIT -1 OFFSET ?)",
                (keep,),
            ).rowcount
        return int(expired + overflow)

    def trim_idempotent(self, keep_bytes: int, *, spare: str) -> int:
        """Forget the soonest-expiring keys until the records weigh at most `keep_bytes`
        (`_record_bytes`), never the key `spare` (the one just stored: with others expiring at
        the same moment it could go first, and a retry of its request be done twice; alone,
        it may weigh more than the budget); returns how many."""
        (weight,) = self._db.execute("SELECT bytes FROM idempotency_weight").fetchone()
        excess = weight - keep_bytes
        if excess <= 0:
            return 0
        doomed: list[str] = []
        oldest_first = f"SELECT key, {_record_bytes('')} FROM idempotency_keys WHERE key != ? ORDER BY expires_at"
        for key, size in self._db.execute(oldest_first, (spare,)):
            doomed.append(key)
            excess -= size
            if excess <= 0:
                break
        self._db.execute(
            "DELETE FROM idempotency_keys WHERE key IN (SELECT value FROM json_each(?))",
            (orjson.dumps(doomed).decode(),),
        )
        return len(doomed)

    # The simulated DNS: TXT records that domain verification looks up.

    def publish_txt_record(self, name: str, value: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO dns_records VALUES (?, ?)", (name, value))

    def has_txt_record(self, name: str, value: str) -> bool:
        row = self._db.execute("SELECT 1 FROM dns_records WHERE name = ? AND value = ?", (name, value)).fetchone()
        return row is not None

    def txt_records(self) -> list[tuple[str, str]]:
        return [(str(name), str(value)) for name, value in self._db.execute("SELECT name, value FROM dns_records")]

    def remove_txt_records(self) -> None:
        self._db.execute("DELETE FROM dns_records")

    def count_idempotent(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM idempotency_keys").fetchone()
        return int(count)

    def idempotent_bytes(self) -> int:
        """What the idempotency records weigh together, added up afresh (`_record_bytes`)."""
        (total,) = self._db.execute(f"SELECT total({_record_bytes('')}) FROM idempotency_keys").fetchone()
        return int(total)
