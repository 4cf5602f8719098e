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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow

INSERT_POSTGRES = "INSERT INTO ledger_commands (command_id, subject_id, digest, event_ids) VALUES (%s, %s, %s, %s)"
INSERT_SQLITE = "INSERT INTO ledger_commands (command_id, subject_id, digest, event_ids) VALUES (?, ?, ?, ?)"
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


def _rows(kwargs: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    commands: Iterable[CommandRow] = kwargs.get("commands", ())
    return [row.values() for row in commands]


class PostgresCommandRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, also writing and reading `ledger_commands`."""

    def _insert_stored_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)  # takes the lock of the events table first
        rows = _rows(kwargs)
        if rows:
            with curs.connection.cursor() as rows_cursor:  # the library fetches notification ids from `curs`
                rows_cursor.executemany(INSERT_POSTGRES, rows)

    def select_commands(self, command_ids: Collection[str]) -> list[CommandRow]:
        """The rows of these command ids (on any subject), in one query."""
        if not command_ids:
            return []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SELECT + "= ANY(%s)", (list(command_ids),), prepare=True)
            columns = ("command_id", "subject_id", "digest", "event_ids")
            return [CommandRow.of([row[column] for column in columns]) for row in curs.fetchall()]


class SqliteCommandRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, also writing and reading `ledger_commands`."""

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        rows = _rows(kwargs)
        if rows:
            c.executemany(INSERT_SQLITE, rows)
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
