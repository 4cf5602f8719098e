"""The event store's recorders, which also record each command's outcome in `ledger_commands`, in the same transaction.

A save passes `commands=[CommandRow, ...]` (Ledger.save does); the rows are inserted after the
events, inside the library's transaction and (on PostgreSQL) under its lock of the events table, so
a command's row exists exactly when its events do. A second row for the same command id and subject
is a unique violation, raised as the library's IntegrityError: a concurrent write, as a clash of
versions is. `select_commands` reads the rows of many command ids in one query: idempotency is
answered from the store, and a subject does not keep every past command in memory.

The SQL is written here, not with SQLAlchemy: it runs on the library's own connection and cursor,
inside its transaction. The table's layout is Alembic's (revision 0002; `tables.ledger_commands`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, Notification, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.ledger.adapters.pii.keys import KeyRow

INSERT_POSTGRES = "INSERT INTO ledger_commands (command_id, subject_id, digest, event_ids) VALUES (%s, %s, %s, %s)"
INSERT_SQLITE = "INSERT INTO ledger_commands (command_id, subject_id, digest, event_ids) VALUES (?, ?, ?, ?)"
# No ON CONFLICT: a subject that got a key (or was erased) meanwhile is a unique violation, which voids the whole
# transaction in the database itself (the library commits after a Python exception in its hook, but a failed
# PostgreSQL transaction can only roll back) and reaches the caller as the library's IntegrityError.
KEYS_POSTGRES = (
    "INSERT INTO subject_keys (subject_id, key_id, wrapped_key, created_at) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::bytea[], %s::timestamptz[])"
)
KEYS_SQLITE = "INSERT INTO subject_keys (subject_id, key_id, wrapped_key, created_at) VALUES (?, ?, ?, ?)"
SELECT = "SELECT command_id, subject_id, digest, event_ids FROM ledger_commands WHERE command_id "
SQLITE_CHUNK = 500  # ids per query, well under SQLite's limit of bound parameters


@dataclass(frozen=True)
class CommandRow:
    """One command's outcome on one subject: its digest and the ids of the events it recorded, in order."""

    command_id: str
    subject_id: str
    digest: str | None
    event_ids: tuple[str, ...]

    def values(self) -> tuple[str, str, str | None, str]:
        """The row's values in the table's column order (event ids joined by spaces)."""
        return self.command_id, self.subject_id, self.digest, " ".join(self.event_ids)

    @classmethod
    def of(cls, row: Sequence[Any]) -> CommandRow:
        """A row as selected (command_id, subject_id, digest, event_ids)."""
        command_id, subject_id, digest, event_ids = row
        return cls(command_id, subject_id, digest, tuple(event_ids.split()))


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored event as the relay and the bundles read it: its position and its subject's id as text, no objects."""

    position: int
    subject: str
    version: int
    topic: str
    state: bytes

    def notification(self) -> Notification:
        """The library's notification of it (for an event its mapper must read)."""
        return Notification(
            id=self.position, originator_id=UUID(self.subject), originator_version=self.version,
            topic=self.topic, state=self.state,
        )  # fmt: skip


def table_of(recorder: AggregateRecorder) -> str:
    """The table an aggregate recorder of either store keeps its records in (the snapshots' table, say)."""
    if isinstance(recorder, PostgresAggregateRecorder | SQLiteAggregateRecorder):
        return recorder.events_table_name
    raise TypeError(f"not a recorder of the ledger's stores: {type(recorder).__name__}")


def _keys(kwargs: dict[str, Any]) -> Sequence[KeyRow]:
    keys: Sequence[KeyRow] = kwargs.get("keys", ())
    return keys


def _rows(kwargs: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    commands: Iterable[CommandRow] = kwargs.get("commands", ())
    return [row.values() for row in commands]


class PostgresCommandRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, also writing and reading `ledger_commands`.

    It also reads many subjects at once (`select_latest`, `select_after`): a batch loads its subjects
    in two queries, not two per subject.
    """

    def select_latest(self, table: str, originator_ids: Collection[UUID]) -> dict[UUID, StoredEvent]:
        """The latest record of each of these originators in `table` (their snapshots), in one query."""
        statement = SQL(
            "SELECT DISTINCT ON (originator_id) * FROM {schema}.{table} WHERE originator_id = ANY(%s) "
            "ORDER BY originator_id, originator_version DESC"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(table))
        return {cast("UUID", e.originator_id): e for e in self._stored(statement, (list(originator_ids),))}

    def select_after(self, after: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """Each originator's events after its version in `after`, in version order, in one query."""
        statement = SQL(
            "SELECT e.* FROM {schema}.{table} e JOIN unnest(%s::uuid[], %s::bigint[]) AS s(id, after) "
            "ON e.originator_id = s.id AND e.originator_version > s.after "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        found: dict[UUID, list[StoredEvent]] = {}
        for event in self._stored(statement, (list(after), list(after.values()))):
            found.setdefault(cast("UUID", event.originator_id), []).append(event)
        return found

    def select_rows(self, start: int, limit: int) -> list[StoredRow]:
        """Up to `limit` stored events from position `start` on, in order: what `select_notifications` reads."""
        statement = SQL(
            "SELECT notification_id, originator_id::text AS subject, originator_version, topic, state "
            "FROM {schema}.{table} WHERE notification_id >= %s ORDER BY notification_id LIMIT %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (start, limit), prepare=True)
            return [
                StoredRow(row["notification_id"], row["subject"], row["originator_version"], row["topic"],
                          bytes(row["state"]))
                for row in curs.fetchall()
            ]  # fmt: skip

    def _stored(self, statement: SQL | Any, params: tuple[Any, ...]) -> list[StoredEvent]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
                for row in curs.fetchall()
            ]

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)  # takes the lock of the events table first
        rows, keys = _rows(kwargs), _keys(kwargs)
        if not rows and not keys:
            return
        # Sync the library's pipeline first: a clash of versions is raised here as the IntegrityError the library
        # expects; queued behind it, our statements would turn it into "pipeline aborted", which is not retried.
        with curs.connection.pipeline():
            pass
        with curs.connection.cursor() as more:  # the library fetches notification ids from `curs`
            if rows:
                more.executemany(INSERT_POSTGRES, rows)
            if keys:
                columns = zip(*((k.subject_id, k.key_id, k.wrapped_key, k.created_at) for k in keys), strict=True)
                more.execute(KEYS_POSTGRES, [list(column) for column in columns])

    def select_commands(self, command_ids: Collection[str]) -> list[CommandRow]:
        """The rows of these command ids (on any subject), in one query."""
        if not command_ids:
            return []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT + "= ANY(%s)", (list(command_ids),), prepare=True)
            columns = ("command_id", "subject_id", "digest", "event_ids")
            return [CommandRow.of([row[column] for column in columns]) for row in curs.fetchall()]


class SqliteCommandRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, also writing and reading `ledger_commands`.

    Many subjects are read in one transaction, a statement each (SQLite is in the process: the
    statements are cheap, the library's transaction per read was not).
    """

    def select_latest(self, table: str, originator_ids: Collection[UUID]) -> dict[UUID, StoredEvent]:
        """The latest record of each of these originators in `table` (their snapshots), in one transaction."""
        statement = f"SELECT * FROM {table} WHERE originator_id=? ORDER BY originator_version DESC LIMIT 1"  # noqa: S608 - the library's table name
        found: dict[UUID, StoredEvent] = {}
        with self.datastore.transaction(commit=False) as c:
            for originator_id in originator_ids:
                c.execute(statement, (originator_id.hex,))
                found.update((originator_id, self._stored(row)) for row in c.fetchall())
        return found

    def select_after(self, after: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """Each originator's events after its version in `after`, in version order, in one transaction."""
        statement = (
            f"SELECT * FROM {self.events_table_name} WHERE originator_id=? AND originator_version>? "  # noqa: S608 - the library's table name
            "ORDER BY originator_version"
        )
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.transaction(commit=False) as c:
            for originator_id, version in after.items():
                c.execute(statement, (originator_id.hex, version))
                if rows := c.fetchall():
                    found[originator_id] = [self._stored(row) for row in rows]
        return found

    def select_rows(self, start: int, limit: int) -> list[StoredRow]:
        """Up to `limit` stored events from position `start` on, in order: what `select_notifications` reads."""
        statement = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "  # noqa: S608 - the library's table name
            "WHERE rowid>=? ORDER BY rowid LIMIT ?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (start, limit))
            text = _dashed if self.datastore.originator_id_type == "uuid" else str
            return [StoredRow(row[0], text(row[1]), row[2], row[3], row[4]) for row in c.fetchall()]

    def _stored(self, row: Any) -> StoredEvent:
        originator_id = self.convert_originator_id(row["originator_id"])
        return StoredEvent(originator_id, row["originator_version"], row["topic"], row["state"])

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        rows, keys = _rows(kwargs), _keys(kwargs)
        if rows:
            c.executemany(INSERT_SQLITE, rows)
        if keys:
            c.executemany(
                KEYS_SQLITE, [(k.subject_id, k.key_id, k.wrapped_key, k.created_at.isoformat()) for k in keys]
            )
        return notification_ids

    def select_commands(self, command_ids: Collection[str]) -> list[CommandRow]:
        """The rows of these command ids (on any subject), in one query per SQLITE_CHUNK ids."""
        ids = list(command_ids)
        found: list[CommandRow] = []
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(ids), SQLITE_CHUNK):
                chunk = ids[start : start + SQLITE_CHUNK]
                c.execute(SELECT + f"IN ({', '.join('?' * len(chunk))})", chunk)  # only placeholders are formatted in
                found.extend(CommandRow.of(tuple(row)) for row in c.fetchall())
        return found


def _dashed(hexa: str) -> str:
    """A UUID's text from the 32 hex digits SQLite keeps (the library stores `UUID.hex`)."""
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:]}"
